"""The web client, end to end: three people in real Chromium meet through the all-in-one.

Run by pytest, this module only reads the record made by its own ``scenario`` (see conftest.py),
which runs as ``python -m tests.browser.test_web_client scenario`` inside ``unshare -n``.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
import traceback
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, open_browser, write_tone
from tests.support.netns import emit_result, require_private_netns
from tests.support.process import allinone

pytestmark = pytest.mark.timeout(420)

PASSWORD = "correct horse battery"
MEETING_PASSWORD = "s3cret"
DESKTOP = {"width": 1280, "height": 760}
MOBILE = {"width": 390, "height": 844}
FIRST_FRAME_TIMEOUT_S = 25.0
TOKEN_TTL_S = 30  # the smallest APP_ACCESS_TOKEN_TTL: the client refreshes at 80 %, within the run

# Inbound RTP totals of the page's one RTCPeerConnection, and what its remote <video>s show.
STATS_JS = """async () => {
  const pc = window.confero.pc;
  const out = {state: pc ? pc.connectionState : "none", video: {framesDecoded: 0, packetsReceived: 0},
               audio: {packetsReceived: 0}, widths: {}};
  for (const tile of document.querySelectorAll(".tile:not(.self)")) {
    out.widths[tile.querySelector(".name").textContent] = tile.querySelector("video").videoWidth;
  }
  if (!pc) return out;
  (await pc.getStats()).forEach((s) => {
    if (s.type !== "inbound-rtp" || !out[s.kind]) return;
    out[s.kind].packetsReceived += s.packetsReceived || 0;
    if (s.kind === "video") out.video.framesDecoded += s.framesDecoded || 0;
  });
  return out;
}"""


# --- the scenario: runs only in the child, inside the private network namespace -------------------

class StepFailed(AssertionError):
    pass


class Run:
    """Runs named steps, keeping going after a failure; the record becomes the RESULT line."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.steps: dict[str, dict[str, Any]] = {}
        self.console: dict[str, list[str]] = {}
        self.screenshots: list[str] = []
        self.timing: dict[str, Any] = {}
        self.pages: dict[str, Any] = {}

    def step(self, name: str, action: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            value = action()
        except Exception as exc:  # recorded; the test of this step fails with it
            self.steps[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                                "trace": traceback.format_exc(limit=4)[-2500:], "notices": self.notices()}
            return None
        self.steps[name] = {"ok": True, "value": value, "seconds": round(time.monotonic() - started, 2)}
        return value

    def notices(self) -> dict[str, str]:
        out = {}
        for who, page in self.pages.items():
            try:
                box = page.locator("#notice")
                out[who] = box.inner_text(timeout=500) if box.is_visible() else ""
            except Exception as exc:
                out[who] = f"<{type(exc).__name__}>"
        return out

    def shot(self, page: Any, name: str, full_page: bool = False) -> None:
        path = ARTIFACTS / f"{name}.png"
        try:
            page.screenshot(path=str(path), full_page=full_page)
            self.screenshots.append(str(path))
        except Exception as exc:
            self.console.setdefault("screenshots", []).append(f"{name}: {exc}")

    def record(self) -> dict[str, Any]:
        return {"steps": self.steps, "console": {k: v[-40:] for k, v in self.console.items()},
                "screenshots": self.screenshots, "timing": self.timing,
                "server_log": str(ARTIFACTS / "allinone.log")}


def open_page(run: Run, pw: Any, profiles: Path, who: str, viewport: dict[str, int],
              microphone: Path | None = None) -> Any:
    context = open_browser(pw, profiles / who, viewport, microphone)
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(10_000)
    log = run.console.setdefault(who, [])
    page.on("console", lambda m: log.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: log.append(f"pageerror: {e}"))
    page.goto(run.base + "/")
    run.pages[who] = page
    return page


def register(page: Any, username: str, display: str) -> None:
    from playwright.sync_api import expect

    page.click("#tab-register")
    form = page.locator("#register-form")
    form.locator("[name=username]").fill(username)
    form.locator("[name=email]").fill(f"{username}@example.com")
    form.locator("[name=display_name]").fill(display)
    form.locator("[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page.locator("#view-lobby")).to_be_visible()
    expect(page.locator("#who")).to_have_text(display)


def log_out(page: Any) -> None:
    from playwright.sync_api import expect

    page.click("#logout")
    expect(page.locator("#view-auth")).to_be_visible()
    if page.evaluate("() => sessionStorage.length") != 0:
        raise StepFailed("tokens left in sessionStorage after logout")


def log_in(page: Any, login: str, display: str) -> None:
    from playwright.sync_api import expect

    page.click("#tab-login")
    page.fill("#login-form [name=username]", login)
    page.fill("#login-form [name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#view-lobby")).to_be_visible()
    expect(page.locator("#who")).to_have_text(display)


def create_meeting(page: Any, title: str) -> str:
    from playwright.sync_api import expect

    page.fill("#create-form [name=title]", title)
    page.fill("#create-form [name=password]", MEETING_PASSWORD)
    page.click("#create-form button[type=submit]")
    row = page.locator("#meetings li.highlight")
    expect(row).to_contain_text(title)
    return str(row.get_attribute("data-meeting-id"))


def through_the_lobby(page: Any) -> None:
    """The meeting's lobby (devices, preview, level meter) stands before every meeting: join from it."""
    from playwright.sync_api import expect

    expect(page.locator("#view-prejoin")).to_be_visible()
    expect(page.locator("#prejoin-preview-box")).to_have_attribute("data-ready", "true")
    page.click("#prejoin-join")


def join_from_list(page: Any, meeting_id: str) -> None:
    from playwright.sync_api import expect

    page.click(f"#meetings li[data-meeting-id='{meeting_id}'] button.join")
    through_the_lobby(page)
    expect(page.locator("#view-meeting")).to_be_visible()
    # Functions, not expressions: the page's CSP forbids the eval Playwright uses for expressions.
    page.wait_for_function("() => document.querySelector('.tile.self video')?.videoWidth > 0")


def join_by_id_with_password(page: Any, meeting_id: str, wrong_first: bool) -> float:
    """Returns the monotonic time of the click that got in."""
    from playwright.sync_api import expect

    dialog = page.locator("#password-dialog")
    page.fill("#join-form [name=meeting_id]", meeting_id)
    page.click("#join-form button[type=submit]")
    through_the_lobby(page)
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("needs a password")
    if wrong_first:
        dialog.locator("input").fill("not-it")
        dialog.locator("button[value=ok]").click()
        expect(page.locator("#password-dialog[data-wrong=true]")).to_be_visible()
        expect(dialog).to_contain_text("Wrong password")
    dialog.locator("input").fill(MEETING_PASSWORD)
    clicked = time.monotonic()
    dialog.locator("button[value=ok]").click()
    expect(page.locator("#view-meeting")).to_be_visible()
    return clicked


def remote_tile(page: Any, display: str) -> Any:
    return page.locator(".tile:not(.self)", has=page.locator(".name", has_text=display))


def stats(page: Any) -> dict[str, Any]:
    return page.evaluate(STATS_JS)


def wait_first_frame(page: Any, since: float) -> float:
    deadline = since + FIRST_FRAME_TIMEOUT_S
    while time.monotonic() < deadline:
        if stats(page)["video"]["framesDecoded"] > 0:
            return time.monotonic()
        time.sleep(0.05)
    raise StepFailed(f"no remote video frame decoded within {FIRST_FRAME_TIMEOUT_S}s: {stats(page)}")


def media_flows(page: Any, other: str) -> dict[str, Any]:
    """Two samples 2 s apart: decoded video frames and received audio packets both grow."""
    before = stats(page)
    time.sleep(2.0)
    after = stats(page)
    result = {"before": before, "after": after}
    if not after["video"]["framesDecoded"] > before["video"]["framesDecoded"]:
        raise StepFailed(f"inbound video framesDecoded did not increase: {result}")
    if not after["widths"].get(other, 0) > 0:
        raise StepFailed(f"the remote <video> of {other} has no picture (videoWidth 0): {result}")
    return result


def audio_flows(page: Any) -> dict[str, Any]:
    before = stats(page)
    time.sleep(1.5)
    after = stats(page)
    if not after["audio"]["packetsReceived"] > before["audio"]["packetsReceived"] > 0:
        raise StepFailed(f"inbound audio packetsReceived did not increase: {before} -> {after}")
    return {"before": before["audio"], "after": after["audio"]}


def alice_is_the_active_speaker(alice: Any, bob: Any) -> list[str]:
    """Alice's microphone plays a steady tone, Bob's only short beeps: the SFU names Alice."""
    from playwright.sync_api import expect

    expect(bob.locator(".tile.speaking")).to_have_count(1, timeout=10_000)
    expect(remote_tile(bob, "Alice")).to_have_class(re.compile(r"\bspeaking\b"))
    expect(alice.locator(".tile.self")).to_have_class(re.compile(r"\bspeaking\b"))
    return [page.locator(".tile.speaking .name").inner_text() for page in (alice, bob)]


def toggles_reach(speaker: Any, watcher: Any, display: str) -> dict[str, Any]:
    from playwright.sync_api import expect

    tile = remote_tile(watcher, display)
    speaker.click("#mic-toggle")
    expect(speaker.locator("#mic-toggle")).to_have_text("Unmute")
    expect(speaker.locator(".tile.self")).to_have_attribute("data-audio", "off")
    expect(tile).to_have_attribute("data-audio", "off")
    expect(tile.locator(".mic-off")).to_be_visible()
    speaker.click("#cam-toggle")
    expect(tile).to_have_attribute("data-video", "off")
    expect(tile.locator(".cam-off")).to_be_visible()
    expect(tile.locator(".avatar")).to_be_visible()
    enabled = speaker.evaluate("() => window.confero.pc.getSenders().filter((s) => s.track)"
                               ".map((s) => [s.track.kind, s.track.enabled])")
    if sorted(enabled) != [["audio", False], ["video", False]]:
        raise StepFailed(f"muting must disable the sent tracks, senders: {enabled}")
    return {"senders_while_muted": enabled}


def toggles_back(speaker: Any, watcher: Any, display: str) -> None:
    from playwright.sync_api import expect

    tile = remote_tile(watcher, display)
    speaker.click("#mic-toggle")
    speaker.click("#cam-toggle")
    expect(tile).to_have_attribute("data-audio", "on")
    expect(tile).to_have_attribute("data-video", "on")
    expect(tile.locator(".mic-off")).to_be_hidden()


def chat(sender: Any, receiver: Any, text: str) -> None:
    from playwright.sync_api import expect

    sender.click("#chat-toggle")
    sender.fill("#chat-form input", text)
    sender.click("#chat-form button")
    expect(sender.locator("#chat-log")).to_contain_text(text)
    expect(receiver.locator("#chat-unread")).to_have_text("1")
    receiver.click("#chat-toggle")
    expect(receiver.locator("#chat-log")).to_contain_text(text)


def site_headers(base: str) -> dict[str, str]:
    with urllib.request.urlopen(base + "/") as page, urllib.request.urlopen(base + "/static/app.js") as script:
        headers = {"csp": page.headers.get("Content-Security-Policy", ""),
                   "nosniff": page.headers.get("X-Content-Type-Options", ""),
                   "script_type": script.headers.get("Content-Type", ""),
                   "script_nosniff": script.headers.get("X-Content-Type-Options", "")}
    host = base.removeprefix("http://")
    assert "script-src 'self'" in headers["csp"] and "'unsafe-inline'" not in headers["csp"], headers
    assert f"ws://{host}" in headers["csp"], headers
    assert headers["nosniff"] == headers["script_nosniff"] == "nosniff", headers
    assert "javascript" in headers["script_type"], headers
    return headers


def no_horizontal_scroll(page: Any) -> dict[str, int]:
    sizes = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, view: innerWidth})")
    if sizes["scroll"] > sizes["view"]:
        raise StepFailed(f"the page scrolls sideways at {sizes['view']}px: {sizes}")
    return sizes


def end_meeting_over_http(base: str, meeting_id: str) -> None:
    """The host ends the meeting from another device (a fresh HTTP session)."""
    import json

    def post(path: str, body: dict[str, Any] | None = None, token: str | None = None) -> Any:
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        req = urllib.request.Request(base + path, data=json.dumps(body or {}).encode(), headers=headers)
        with urllib.request.urlopen(req) as r:
            return json.load(r)

    token = post("/api/v1/auth/login", {"username": "alice", "password": PASSWORD})["access_token"]
    post(f"/api/v1/meetings/{meeting_id}/end", token=token)


def scenario() -> dict[str, Any]:
    from playwright.sync_api import expect, sync_playwright

    require_private_netns()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in [*ARTIFACTS.glob("[0-9][0-9]-*.png"), ARTIFACTS / "allinone.log"]:  # only its own files
        old.unlink(missing_ok=True)
    # Inside the namespace lo is the only interface: the SFU must offer 127.0.0.1 host candidates.
    env = {"APP_ADAPTERS": "memory", "APP_FAST_PASSWORD_HASHING": "true", "APP_MEDIA_HOST_ADDRESSES": "127.0.0.1",
           "APP_ACCESS_TOKEN_TTL": str(TOKEN_TTL_S), "APP_LOG_FORMAT": "text"}
    with (tempfile.TemporaryDirectory() as profiles, allinone(env, ARTIFACTS / "allinone.log") as base,
          sync_playwright() as pw):
        run = Run(base)
        run.step("site_headers", lambda: site_headers(base))
        tone = write_tone(Path(profiles) / "tone.wav")
        a = open_page(run, pw, Path(profiles), "alice", DESKTOP, microphone=tone)  # Alice talks all the time
        b = open_page(run, pw, Path(profiles), "bob", DESKTOP)
        run.shot(a, "01-login")

        def accounts() -> None:
            register(a, "alice", "Alice")
            log_out(a)
            log_in(a, "alice@example.com", "Alice")
            register(b, "bob", "Bob")
        run.step("accounts", accounts)
        logged_in_at = time.monotonic()
        meeting_id = run.step("create_meeting", lambda: create_meeting(a, "Standup"))
        run.shot(a, "02-lobby")
        run.step("host_joins", lambda: join_from_list(a, str(meeting_id)))
        clicked = run.step("guest_joins_with_password", lambda: join_by_id_with_password(b, str(meeting_id), True))

        def tiles() -> None:
            expect(remote_tile(a, "Bob")).to_be_visible()
            expect(remote_tile(b, "Alice")).to_be_visible()
            expect(b.locator(".tile.self .name")).to_have_text("Bob (you)")
        run.step("tiles_from_signaling", tiles)

        def first_frame() -> dict[str, Any]:
            if clicked is None:
                raise StepFailed("bob never got into the meeting")
            at = wait_first_frame(b, clicked)
            run.timing["join_to_first_frame_polled_ms"] = round((at - clicked) * 1000)
            b.wait_for_function("() => window.confero.debug.firstRemoteFrameMs !== null", timeout=5000)
            run.timing["join_to_first_frame_ms"] = b.evaluate("() => window.confero.debug.firstRemoteFrameMs")
            wait_first_frame(a, clicked)
            return dict(run.timing)
        run.step("first_frame", first_frame)
        run.step("video_alice_sees_bob", lambda: media_flows(a, "Bob"))
        run.step("video_bob_sees_alice", lambda: media_flows(b, "Alice"))
        run.step("audio_alice_hears_bob", lambda: audio_flows(a))
        run.step("audio_bob_hears_alice", lambda: audio_flows(b))
        run.step("active_speaker_highlighted", lambda: alice_is_the_active_speaker(a, b))
        run.shot(a, "03-alice-with-bob")
        run.shot(b, "04-bob-with-alice")

        run.step("mute_reaches_the_other_page", lambda: toggles_reach(b, a, "Bob"))
        run.shot(a, "05-alice-sees-bob-muted")
        run.step("unmute_reaches_the_other_page", lambda: toggles_back(b, a, "Bob"))
        run.step("chat", lambda: chat(a, b, "hello from alice"))

        c = open_page(run, pw, Path(profiles), "carol", MOBILE)

        def third_joins() -> None:
            register(c, "carol", "Carol")
            no_horizontal_scroll(c)
            run.shot(c, "06-mobile-lobby", full_page=True)
            join_by_id_with_password(c, str(meeting_id), False)
            for page in (a, b):
                expect(remote_tile(page, "Carol")).to_be_visible()
            expect(c.locator(".tile:not(.self)")).to_have_count(2)
            no_horizontal_scroll(c)
        run.step("third_member_tile_appears", third_joins)
        time.sleep(1.5)  # let Carol's picture arrive for the screenshots (when media flows)
        run.shot(c, "07-mobile-meeting")
        run.shot(a, "08-alice-with-bob-and-carol")

        def third_leaves() -> None:
            c.click("#leave")
            expect(c.locator("#view-lobby")).to_be_visible()
            for page in (a, b):
                expect(remote_tile(page, "Carol")).to_have_count(0)
            expect(a.locator(".tile")).to_have_count(2)
        run.step("third_member_tile_disappears", third_leaves)
        c.context.close()

        def refreshed() -> dict[str, Any]:
            remaining = max(0.0, TOKEN_TTL_S * 0.8 - (time.monotonic() - logged_in_at)) + 8
            a.wait_for_function("() => window.confero.debug.reauths >= 1", timeout=remaining * 1000)
            debug = a.evaluate("() => window.confero.debug")
            if debug["socketCloses"]:
                raise StepFailed(f"the socket closed: {debug}")
            return {"refreshes": debug["refreshes"], "reauths": debug["reauths"]}
        run.step("token_refreshed_and_socket_reauthenticated", refreshed)

        def meeting_ends() -> None:
            end_meeting_over_http(base, str(meeting_id))
            for page in (a, b):
                expect(page.locator("#view-lobby")).to_be_visible()
                expect(page.locator("#notice")).to_contain_text("ended the meeting")
        run.step("room_closed_returns_everyone_to_the_list", meeting_ends)
        run.shot(b, "09-bob-after-meeting-ended")
        run.step("logout", lambda: log_out(a))
        return run.record()


# --- the tests: read the record ------------------------------------------------------------------

def passed(run: dict[str, Any], *names: str) -> list[Any]:
    values = []
    for name in names:
        step = run["steps"].get(name)
        assert step is not None, f"step {name} did not run"
        assert step["ok"], (f"{name}: {step['error']}\nnotices: {step['notices']}\n{step['trace']}\n"
                            f"console: {run['console']}")
        values.append(step["value"])
    return values


def test_the_site_is_served_with_a_strict_content_security_policy(browser_run):
    passed(browser_run, "site_headers")


def test_people_register_log_out_log_in_and_create_a_meeting_through_the_page(browser_run):
    passed(browser_run, "accounts", "create_meeting")


def test_the_host_joins_from_the_list_and_a_guest_by_id_after_a_wrong_then_right_password(browser_run):
    passed(browser_run, "host_joins", "guest_joins_with_password")


def test_each_member_sees_a_named_tile_for_the_other(browser_run):
    passed(browser_run, "tiles_from_signaling")


def test_each_page_decodes_the_others_video(browser_run):
    passed(browser_run, "first_frame", "video_alice_sees_bob", "video_bob_sees_alice")
    timing = browser_run["timing"]
    print(f"join -> first decoded remote frame: {timing['join_to_first_frame_ms']} ms in page, "
          f"{timing['join_to_first_frame_polled_ms']} ms polled")


def test_each_page_receives_the_others_audio(browser_run):
    passed(browser_run, "audio_alice_hears_bob", "audio_bob_hears_alice")


def test_the_active_speaker_announced_by_the_server_is_highlighted(browser_run):
    passed(browser_run, "active_speaker_highlighted")


def test_mute_and_camera_toggles_disable_the_tracks_and_show_on_the_other_page(browser_run):
    passed(browser_run, "mute_reaches_the_other_page", "unmute_reaches_the_other_page")


def test_chat_messages_reach_the_other_page(browser_run):
    passed(browser_run, "chat")


def test_a_third_members_tile_appears_when_they_join_and_disappears_when_they_leave(browser_run):
    passed(browser_run, "third_member_tile_appears", "third_member_tile_disappears")


def test_the_access_token_is_refreshed_and_the_socket_re_authenticated_before_expiry(browser_run):
    passed(browser_run, "token_refreshed_and_socket_reauthenticated")


def test_ending_the_meeting_returns_everyone_to_the_list_with_a_message_and_logout_works(browser_run):
    passed(browser_run, "room_closed_returns_everyone_to_the_list", "logout")


if __name__ == "__main__" and sys.argv[1:] == ["scenario"]:
    emit_result(scenario())
