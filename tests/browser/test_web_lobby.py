"""Before the meeting, end to end in Chromium: meetings list, scheduling, editing, cancelling, links,
the meeting's lobby (devices, preview, level meter, joining muted), the password prompt and every
refusal, by three people (one at a phone's width); an axe check of each view; no console errors.

Run by pytest, this module reads the record of its own ``scenario``, which runs as
``python -m tests.browser.test_web_lobby scenario`` inside ``unshare -n`` (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.browser.accessibility import serious_violations_sync, summary
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_web_client import (
    DESKTOP, MOBILE, PASSWORD, Run, StepFailed, no_horizontal_scroll, open_page, register, through_the_lobby,
)
from tests.support.netns import emit_result, require_private_netns, run_module, unshare_available
from tests.support.process import allinone

pytestmark = pytest.mark.timeout(420)
ROOM_PASSWORD = "s3cret"
SHOTS = "lobby-"
# Chromium logs a refused request (403, 404, 409) as a console error by itself: those are the
# refusals this scenario provokes on purpose, not errors of the page.
REFUSED_REQUEST = re.compile(r"^error: Failed to load resource: the server responded with a status of (403|404|409)")


class Http:
    """The API from outside the pages: what another device of the host would do (lock, kick, end)."""

    def __init__(self, base: str, login: str) -> None:
        self.base = base
        self.token = self.call("POST", "/api/v1/auth/login", {"username": login, "password": PASSWORD})["access_token"]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if getattr(self, "token", None):
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.base + path, data=json.dumps(body or {}).encode(), headers=headers,
                                     method=method)
        with urllib.request.urlopen(req) as r:
            return json.load(r) if r.status != 204 else None


def row(page: Any, title: str) -> Any:
    return page.locator("#meetings li", has=page.locator("strong", has_text=title))


def tab(page: Any, name: str) -> None:
    from playwright.sync_api import expect

    page.click(f"#meetings-tab-{name}")
    expect(page.locator(f"#meetings-tab-{name}")).to_have_attribute("aria-selected", "true")


def accessible(run: Run, page: Any, view: str) -> dict[str, Any]:
    violations = serious_violations_sync(page)
    if violations:
        raise StepFailed(f"{view}: {summary(violations)}")
    return {"view": view, "serious_violations": 0}


def schedule(page: Any, title: str, *, start: dt.datetime | None = None, minutes: int = 30, capacity: int = 10,
             password: str = "", invite_only: bool = False, mute_on_join: bool = False, invitees: str = "") -> str:
    from playwright.sync_api import expect

    form = page.locator("#create-form")
    form.locator("[name=title]").fill(title)
    form.locator("[name=start_time]").fill(start.strftime("%Y-%m-%dT%H:%M") if start else "")
    form.locator("[name=duration_minutes]").fill(str(minutes))
    form.locator("[name=capacity]").fill(str(capacity))
    form.locator("[name=password]").fill(password)
    form.locator("[name=invite_only]").set_checked(invite_only)
    form.locator("[name=mute_on_join]").set_checked(mute_on_join)
    form.locator("[name=invitees]").fill(invitees)
    form.locator("button[type=submit]").click()
    highlighted = page.locator("#meetings li.highlight")
    expect(highlighted).to_contain_text(title)
    return str(highlighted.get_attribute("data-meeting-id"))


def refused(page: Any, text: str) -> str:
    """The refusal shows in the notice bar or in the lobby; the page stays out of the meeting."""
    from playwright.sync_api import expect

    shown = page.locator("#notice:not([hidden]), #prejoin-refusal:not([hidden])").filter(has_text=text)
    expect(shown.first).to_be_visible()
    expect(page.locator("#view-meeting")).to_be_hidden()
    return shown.first.inner_text()


def scenario() -> dict[str, Any]:
    from playwright.sync_api import expect, sync_playwright

    require_private_netns()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in [*ARTIFACTS.glob(f"{SHOTS}*.png"), ARTIFACTS / "allinone-lobby.log"]:
        old.unlink(missing_ok=True)
    env = {"APP_ADAPTERS": "memory", "APP_FAST_PASSWORD_HASHING": "true", "APP_MEDIA_HOST_ADDRESSES": "127.0.0.1",
           "APP_LOG_FORMAT": "text", "APP_MAX_OPEN_MEETINGS_PER_USER": "100",  # enough for two pages of a list
           "APP_MEETING_PASSWORD_MAX_GUESSES": "3"}
    with (tempfile.TemporaryDirectory() as profiles, allinone(env, ARTIFACTS / "allinone-lobby.log") as base,
          sync_playwright() as pw):
        run = Run(base)
        a = open_page(run, pw, Path(profiles), "alice", DESKTOP)
        b = open_page(run, pw, Path(profiles), "bob", DESKTOP)
        c = open_page(run, pw, Path(profiles), "carol", MOBILE)
        ids: dict[str, str] = {}

        run.step("a11y sign-in (desktop)", lambda: accessible(run, a, "sign-in"))
        run.step("a11y sign-in (phone)", lambda: accessible(run, c, "sign-in at 390px"))
        run.shot(c, f"{SHOTS}01-sign-in-phone")

        def accounts() -> None:
            register(a, "alice", "Alice")
            register(b, "bob", "Bob")
            register(c, "carol", "Carol")
        run.step("accounts", accounts)

        def form_checks() -> dict[str, Any]:
            form = a.locator("#create-form")
            form.locator("[name=title]").fill("")
            form.locator("[name=capacity]").fill("1")
            form.locator("[name=invitees]").fill("bob, not@valid")
            form.locator("button[type=submit]").click()
            expect(form.locator("[name=title][aria-invalid=true]")).to_be_focused()
            errors = form.locator(".field-error").all_inner_texts()
            if len(errors) != 3:
                raise StepFailed(f"expected three field errors, got {errors}")
            expect(a.locator("#meetings-empty")).to_be_visible()  # nothing was created
            run.shot(a, f"{SHOTS}02-schedule-form-errors", full_page=True)
            return {"errors": errors}
        run.step("the schedule form explains each wrong field and creates nothing", form_checks)

        later = dt.datetime.now() + dt.timedelta(days=2)

        def scheduling() -> dict[str, Any]:
            ids["review"] = schedule(a, "Design review", start=later.replace(hour=10, minute=0), minutes=45,
                                     capacity=5, password=ROOM_PASSWORD, invite_only=True,
                                     invitees="bob guest@example.com")
            notice = a.locator("#notice").inner_text()
            if "Invited: bob, guest@example.com" not in notice or f"/m/{ids['review']}" not in notice:
                raise StepFailed(f"the notice should list the invitations and the link: {notice}")
            facts = row(a, "Design review").inner_text()
            for fact in ("Scheduled", "You host", "Password", "Invite only", "Up to 5 people", "10:00"):
                if fact not in facts:
                    raise StepFailed(f"{fact!r} missing from the row: {facts}")
            ids["standup"] = schedule(a, "Standup", capacity=2, password=ROOM_PASSWORD)
            ids["locked"] = schedule(a, "Board meeting")
            ids["private"] = schedule(a, "Private chat", invite_only=True)
            ids["kick"] = schedule(a, "Retro")
            return {"row": facts}
        run.step("a host schedules meetings with time, duration, capacity, password, settings and invitations",
                 scheduling)
        run.shot(a, f"{SHOTS}03-meetings-list", full_page=True)
        run.step("a11y meetings list and schedule form (desktop)", lambda: accessible(run, a, "meetings list"))

        def planted() -> list[str]:
            a.evaluate("() => { const b = document.createElement('button'); b.id = 'planted';"
                       " document.querySelector('#create-form').append(b); }")
            found = [v["id"] for v in serious_violations_sync(a)]
            a.evaluate("() => document.querySelector('#planted').remove()")
            if "button-name" not in found:
                raise StepFailed(f"axe missed a button without a name: {found}")
            return found
        run.step("the accessibility check finds a planted violation", planted)

        def unknown_invitee() -> str:
            schedule(a, "Lunch", invitees="nobody_here")
            expect(a.locator("#notice")).to_contain_text("Not invited: nobody_here (no such user)")
            return a.locator("#notice").inner_text()
        run.step("an unknown username is reported, the meeting is still made", unknown_invitee)

        def tabs() -> dict[str, Any]:
            b.click("#reload-meetings")
            tab(b, "invited")
            expect(row(b, "Design review")).to_be_visible()
            expect(row(b, "Design review").locator("button.edit")).to_be_hidden()
            expect(row(b, "Standup")).to_have_count(0)
            tab(b, "hosted")
            expect(b.locator("#meetings-empty")).to_be_visible()
            tab(a, "hosted")
            expect(a.locator("#meetings li")).to_have_count(6)
            tab(a, "past")
            expect(a.locator("#meetings-empty")).to_be_visible()
            # keyboard: arrows move between the tabs, the selected one is the only one in the tab order
            a.focus("#meetings-tab-past")
            a.keyboard.press("ArrowRight")
            expect(a.locator("#meetings-tab-hosted")).to_be_focused()
            expect(a.locator("#meetings-tab-hosted")).to_have_attribute("aria-selected", "true")
            a.keyboard.press("Home")
            expect(a.locator("#meetings-tab-upcoming")).to_have_attribute("aria-selected", "true")
            return {"tab_order": a.locator("#meeting-tabs [role=tab]").evaluate_all(
                "(tabs) => tabs.map((t) => t.tabIndex)")}
        run.step("the list has upcoming, past, hosted and invited tabs, reachable by keyboard", tabs)

        def copy_link() -> str:
            a.context.grant_permissions(["clipboard-read", "clipboard-write"])
            row(a, "Standup").locator("button.copy-link").click()
            link = f"{base}/m/{ids['standup']}"
            expect(a.locator("#notice")).to_contain_text(link)
            copied = a.evaluate("() => navigator.clipboard.readText()")
            if copied != link:
                raise StepFailed(f"the clipboard holds {copied!r}, not {link!r}")
            return copied
        run.step("copy link puts the meeting's /m/ link on the clipboard", copy_link)

        def edit() -> dict[str, Any]:
            row(a, "Design review").locator("button.edit").click()
            dialog = a.locator("#edit-dialog")
            expect(dialog).to_be_visible()
            expect(dialog.locator("[name=title]")).to_be_focused()
            expect(dialog.locator("[name=title]")).to_have_value("Design review")
            expect(dialog.locator("[name=invite_only]")).to_be_checked()
            run.shot(a, f"{SHOTS}04-edit-dialog")
            a11y = accessible(run, a, "edit dialog")
            dialog.locator("[name=title]").fill("Design review v2")
            dialog.locator("[name=capacity]").fill("8")
            dialog.locator("[name=invitees]").fill("carol")
            dialog.locator("button[type=submit]").click()
            expect(dialog).to_be_hidden()
            expect(row(a, "Design review v2")).to_contain_text("Up to 8 people")
            c.click("#reload-meetings")
            tab(c, "invited")
            expect(row(c, "Design review v2")).to_be_visible()
            return a11y
        run.step("the host edits a meeting and invites someone more by username", edit)

        def lobby_by_link() -> dict[str, Any]:
            b.goto(f"{base}/m/{ids['standup']}")
            expect(b.locator("#view-prejoin")).to_be_visible()
            expect(b.locator("#prejoin-title")).to_have_text("Standup")
            expect(b.locator("#prejoin-preview-box")).to_have_attribute("data-ready", "true")
            b.wait_for_function("() => document.querySelector('#prejoin-preview').videoWidth > 0")
            devices = {k: b.locator(f"#prejoin-{k} option").all_inner_texts() for k in ("mic", "cam", "speaker")}
            if not devices["mic"] or not devices["cam"]:
                raise StepFailed(f"device pickers are empty: {devices}")
            # Chromium's fake microphone beeps: the meter moves (after a first gesture, for the autoplay policy)
            b.click("#prejoin-title")
            b.wait_for_function("() => Number(document.querySelector('#prejoin-level').dataset.level) > 0",
                                timeout=15_000)
            level = b.evaluate("() => Number(document.querySelector('#prejoin-level').dataset.level)")
            run.shot(b, f"{SHOTS}05-lobby-preview")
            a11y = accessible(run, b, "lobby")
            return {"devices": devices, "level": level, **a11y}
        run.step("a meeting link opens its lobby with device pickers, a preview and a moving level meter",
                 lobby_by_link)

        def host_in() -> None:
            a.goto(f"{base}/m/{ids['standup']}")
            through_the_lobby(a)
            expect(a.locator("#view-meeting")).to_be_visible()
        run.step("the host joins from the lobby", host_in)

        def muted_with_password() -> dict[str, Any]:
            b.check("#prejoin-mute")
            b.click("#prejoin-join")
            dialog = b.locator("#password-dialog")
            expect(dialog).to_contain_text("needs a password")
            dialog.locator("input").fill("wrong")
            dialog.locator("button[value=ok]").click()
            expect(b.locator("#password-dialog[data-wrong=true]")).to_be_visible()
            dialog.locator("input").fill(ROOM_PASSWORD)
            dialog.locator("button[value=ok]").click()
            expect(b.locator("#view-meeting")).to_be_visible()
            expect(b.locator(".tile.self")).to_have_attribute("data-audio", "off")
            bob_tile = a.locator(".tile:not(.self)", has=a.locator(".name", has_text="Bob"))
            expect(bob_tile).to_have_attribute("data-audio", "off")
            expect(bob_tile).to_have_attribute("data-video", "on")
            b.wait_for_function("() => window.confero.pc?.getSenders().some((s) => s.track)")
            senders = b.evaluate("() => window.confero.pc.getSenders().filter((s) => s.track)"
                                 ".map((s) => [s.track.kind, s.track.enabled])")
            if sorted(senders) != [["audio", False], ["video", True]]:
                raise StepFailed(f"joining muted must send a disabled microphone and the camera: {senders}")
            return {"senders": senders}
        run.step("a guest joins muted after a wrong then the right password", muted_with_password)

        def full() -> str:
            c.goto(f"{base}/m/{ids['standup']}")
            expect(c.locator("#prejoin-title")).to_have_text("Standup")
            expect(c.locator("#prejoin-preview-box")).to_have_attribute("data-ready", "true")
            no_horizontal_scroll(c)
            run.shot(c, f"{SHOTS}06-lobby-phone", full_page=True)
            accessible(run, c, "lobby at 390px")
            c.click("#prejoin-join")
            c.locator("#password-dialog input").fill(ROOM_PASSWORD)
            c.locator("#password-dialog button[value=ok]").click()
            text = refused(c, "This meeting is full")
            expect(c.locator("#view-prejoin")).to_be_visible()  # still in the lobby, may try again later
            run.shot(c, f"{SHOTS}07-refused-full-phone", full_page=True)
            return text
        run.step("a full meeting is refused with its reason (at a phone's width)", full)

        def guessing() -> dict[str, Any]:
            dialog = c.locator("#password-dialog")
            too_many = c.locator("#notice:not([hidden])").filter(has_text="Too many wrong passwords")
            c.click("#prejoin-join")
            tries = 0
            for tries in range(1, 8):
                expect(c.locator("#password-dialog[open]").or_(too_many).first).to_be_visible()
                if too_many.is_visible():
                    break
                dialog.locator("input").fill("nope")
                dialog.locator("button[value=ok]").click()
            text = too_many.inner_text()
            if "Try again in" not in text:
                raise StepFailed(f"the refusal should say how long to wait: {text}")
            return {"prompts": tries, "notice": text}
        run.step("too many wrong passwords are refused with the time to wait", guessing)

        host = Http(base, "alice")

        def locked() -> str:
            host.call("POST", f"/api/v1/meetings/{ids['locked']}/join")
            host.call("POST", f"/api/v1/meetings/{ids['locked']}/lock")
            c.click("#prejoin-back")
            expect(c.locator("#view-lobby")).to_be_visible()
            c.fill("#join-form [name=meeting_id]", f"{base}/m/{ids['locked']}")  # a pasted link
            c.click("#join-form button[type=submit]")
            through_the_lobby(c)
            return refused(c, "locked")
        run.step("a locked meeting is refused", locked)

        def invite_only() -> str:
            c.goto(f"{base}/m/{ids['private']}")
            text = refused(c, "invited people only")
            expect(c.locator("#prejoin-join")).to_be_disabled()
            return text
        run.step("an invite-only meeting refuses the uninvited in its lobby", invite_only)

        def kicked() -> str:
            c.goto(f"{base}/m/{ids['kick']}")
            through_the_lobby(c)
            expect(c.locator("#view-meeting")).to_be_visible()
            carol_id = c.evaluate("() => JSON.parse(sessionStorage.getItem('confero.session')).user.id")
            host.call("POST", f"/api/v1/meetings/{ids['kick']}/participants/{carol_id}/kick")
            expect(c.locator("#view-meeting")).to_be_hidden()
            c.goto(f"{base}/m/{ids['kick']}")
            expect(c.locator("#prejoin-title")).to_have_text("Retro")
            if c.locator("#prejoin-join").is_enabled():
                through_the_lobby(c)
            return refused(c, "removed from this meeting")
        run.step("someone kicked is refused when coming back", kicked)

        def ended() -> str:
            host.call("POST", f"/api/v1/meetings/{ids['kick']}/end")
            b.click("#leave")
            b.goto(f"{base}/m/{ids['kick']}")
            text = refused(b, "has ended")
            expect(b.locator("#prejoin-join")).to_be_disabled()
            return text
        run.step("an ended meeting says so in its lobby", ended)

        def cancelled() -> dict[str, Any]:
            a.click("#leave")
            expect(a.locator("#view-lobby")).to_be_visible()
            tab(a, "upcoming")
            a.once("dialog", lambda d: d.accept())
            row(a, "Design review v2").locator("button.cancel").click()
            expect(a.locator("#notice")).to_contain_text("is cancelled")
            expect(row(a, "Design review v2")).to_have_count(0)
            tab(a, "past")
            expect(row(a, "Design review v2")).to_contain_text("Cancelled")
            expect(row(a, "Design review v2").locator("button.join")).to_be_hidden()
            run.shot(a, f"{SHOTS}08-past-with-cancelled", full_page=True)
            b.goto(f"{base}/m/{ids['review']}")
            text = refused(b, "was cancelled")
            return {"refusal": text}
        run.step("the host cancels a meeting; it moves to past and its link says it was cancelled", cancelled)

        def phone_list() -> dict[str, Any]:
            c.click("#prejoin-back")
            expect(c.locator("#view-lobby")).to_be_visible()
            sizes = no_horizontal_scroll(c)
            run.shot(c, f"{SHOTS}09-meetings-phone", full_page=True)
            return {**sizes, **accessible(run, c, "meetings list at 390px")}
        run.step("the meetings list fits a phone and passes the accessibility check there", phone_list)

        def logged_out_link() -> None:
            b.click("#logout")
            b.goto(f"{base}/m/{ids['standup']}")
            expect(b.locator("#auth-meeting-hint")).to_be_visible()
            b.fill("#login-form [name=username]", "bob")
            b.fill("#login-form [name=password]", PASSWORD)
            b.click("#login-form button[type=submit]")
            expect(b.locator("#view-prejoin")).to_be_visible()
            expect(b.locator("#prejoin-title")).to_have_text("Standup")
        run.step("a meeting link opened logged out leads through log in to its lobby", logged_out_link)

        def keyboard_order() -> list[str]:
            a.click("#prejoin-back") if a.locator("#view-prejoin").is_visible() else None
            tab(a, "upcoming")
            a.focus("#create-form [name=title]")
            names: list[str] = []
            for _ in range(40):  # a date-time input takes several Tabs (one per part)
                a.keyboard.press("Tab")
                name = a.evaluate("() => document.activeElement.name || document.activeElement.id")
                if not names or names[-1] != name:
                    names.append(name)
                if len(names) == 6:
                    break
            expected = ["description", "start_time", "duration_minutes", "capacity", "password", "mute_on_join"]
            if names != expected:
                raise StepFailed(f"tab order {names} != {expected}")
            return names
        run.step("the schedule form's fields follow in reading order with the keyboard", keyboard_order)

        def show_more() -> dict[str, int]:
            for n in range(50):
                host.call("POST", "/api/v1/meetings", {"title": f"Extra {n}"})
            tab(a, "upcoming")
            tab(a, "hosted")
            expect(a.locator("#meetings li")).to_have_count(50)
            a.click("#meetings-more")
            expect(a.locator("#meetings li")).to_have_count(56)
            expect(a.locator("#meetings-more")).to_be_hidden()
            ids_shown = a.locator("#meetings li").evaluate_all("(rows) => rows.map((r) => r.dataset.meetingId)")
            if len(set(ids_shown)) != 56:
                raise StepFailed("the second page repeated meetings of the first")
            return {"rows": len(ids_shown)}
        run.step("a long list shows the next page on 'Show more'", show_more)

        def console_clean() -> dict[str, Any]:
            errors = {who: [m for m in msgs if (m.startswith("error") or m.startswith("pageerror"))
                            and not REFUSED_REQUEST.match(m)]
                      for who, msgs in run.console.items() if who in ("alice", "bob", "carol")}
            if any(errors.values()):
                raise StepFailed(f"console errors: {errors}")
            return {who: len(msgs) for who, msgs in run.console.items()}
        run.step("no console errors on any page", console_clean)
        return run.record()


# --- the tests: read the record ------------------------------------------------------------------

@pytest.fixture(scope="module")
def lobby_run() -> dict[str, Any]:
    import shutil

    if not unshare_available():
        pytest.fail("browser tests need root, unshare and ip (iproute2) for a private network namespace")
    if shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium (make test does it)")
    result, _ = run_module("tests.browser.test_web_lobby", "scenario", timeout=360)
    return result


def passed(run: dict[str, Any], *names: str) -> None:
    for name in names:
        step = run["steps"].get(name)
        assert step is not None, f"step {name!r} did not run"
        assert step["ok"], f"{name}: {step['error']}\nnotices: {step['notices']}\n{step['trace']}\nconsole: {run['console']}"


def test_the_schedule_form_checks_fields_then_schedules_with_every_option_and_invitations(lobby_run):
    passed(lobby_run, "the schedule form explains each wrong field and creates nothing",
           "a host schedules meetings with time, duration, capacity, password, settings and invitations",
           "an unknown username is reported, the meeting is still made")


def test_the_meetings_list_has_upcoming_past_hosted_and_invited_tabs_and_pages(lobby_run):
    passed(lobby_run, "the list has upcoming, past, hosted and invited tabs, reachable by keyboard",
           "a long list shows the next page on 'Show more'")


def test_a_host_copies_a_link_edits_and_cancels(lobby_run):
    passed(lobby_run, "copy link puts the meeting's /m/ link on the clipboard",
           "the host edits a meeting and invites someone more by username",
           "the host cancels a meeting; it moves to past and its link says it was cancelled")


def test_the_lobby_shows_devices_a_preview_and_the_microphone_level_and_joins_muted(lobby_run):
    passed(lobby_run, "a meeting link opens its lobby with device pickers, a preview and a moving level meter",
           "the host joins from the lobby", "a guest joins muted after a wrong then the right password")


def test_every_refusal_to_join_is_explained(lobby_run):
    passed(lobby_run, "a full meeting is refused with its reason (at a phone's width)",
           "too many wrong passwords are refused with the time to wait", "a locked meeting is refused",
           "an invite-only meeting refuses the uninvited in its lobby", "someone kicked is refused when coming back",
           "an ended meeting says so in its lobby")


def test_a_meeting_link_opened_logged_out_leads_to_its_lobby_after_log_in(lobby_run):
    passed(lobby_run, "a meeting link opened logged out leads through log in to its lobby")


def test_no_serious_accessibility_violations_on_desktop_and_phone(lobby_run):
    passed(lobby_run, "the accessibility check finds a planted violation",
           "a11y sign-in (desktop)", "a11y sign-in (phone)", "a11y meetings list and schedule form (desktop)",
           "the meetings list fits a phone and passes the accessibility check there",
           "the host edits a meeting and invites someone more by username",  # the edit dialog
           "a meeting link opens its lobby with device pickers, a preview and a moving level meter",  # the lobby
           "a full meeting is refused with its reason (at a phone's width)",  # the lobby at 390px
           "the schedule form's fields follow in reading order with the keyboard")


def test_no_console_errors(lobby_run):
    passed(lobby_run, "no console errors on any page")


def test_every_step_ran_and_passed(lobby_run):
    failed = {name: step["error"] for name, step in lobby_run["steps"].items() if not step["ok"]}
    assert not failed, failed


if __name__ == "__main__" and sys.argv[1:] == ["scenario"]:
    emit_result(scenario())
