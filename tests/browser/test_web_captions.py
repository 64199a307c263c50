"""Live captions in the web client (issue 12): in real Chromium the host turns captions on, both pages
show the indicator, a caption of Alice's reaches Bob's page under her tile (a partial one replaced in
place by its final one) and in the caption panel, Bob downloads the transcript (WebVTT, JSON, SRT) from
the meeting and again from the list of meetings after it ended, the "unavailable" notice comes and goes,
and the page works at a phone's width.  Screenshots go to artifacts/browser/captions-*.png.

Captions come from the server's captions use case: the scenario serves the all-in-one in its own
process (a thread with its own event loop) so that it can hand captions to the same CaptionSink the
media server's captioner uses.  Like test_web_client.py, pytest re-runs this module as
``python -m tests.browser.test_web_captions scenario`` under ``unshare -n`` and asserts on its record.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_web_client import (
    DESKTOP,
    MOBILE,
    Run,
    StepFailed,
    audio_flows,
    create_meeting,
    end_meeting_over_http,
    join_by_id_with_password,
    join_from_list,
    no_horizontal_scroll,
    open_page,
    register,
    remote_tile,
    wait_first_frame,
)
from tests.support.netns import emit_result, require_private_netns, run_module, unshare_available
from tests.support.process import free_port

pytestmark = pytest.mark.timeout(420)
PARTIAL = "the quarterly numbers are"
FINAL = "The quarterly numbers are up by twelve percent."
SECOND = "Next we look at the roadmap."
SPOKEN = "Hello everyone. The quarterly numbers are up by twelve percent. Next we look at the roadmap."
HEARD_WORDS = {"quarterly", "numbers", "percent", "twelve", "12", "roadmap", "hello", "everyone"}
SPEECH_WAIT_S = 90.0  # Whisper on this 2-core machine, in process, behind the browsers


# --- the server, in this process ---------------------------------------------------------------------

class Server:
    """The all-in-one's composition served from a thread, so the scenario can reach its services."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.loop = asyncio.new_event_loop()
        self.services: Any = None
        self.base = ""

    def run(self, coro: Any, timeout: float = 20.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @contextlib.contextmanager
    def serving(self) -> Iterator[Server]:
        from aiohttp import web

        from runners.serve import composed
        from runners.settings import Settings
        from runners.web.app import create_app

        logging.basicConfig(filename=self.log_path, level=logging.INFO, force=True)
        port = free_port()
        settings = Settings.from_env({**os.environ, "APP_HOST": "127.0.0.1", "APP_PORT": str(port),
                                      "APP_REGISTRATIONS_PER_ADDRESS": "100000", **self.env})
        thread = threading.Thread(target=self.loop.run_forever, name="allinone", daemon=True)
        thread.start()
        stack = contextlib.AsyncExitStack()

        async def start() -> None:
            _, self.services = await stack.enter_async_context(composed(settings))
            runner = web.AppRunner(create_app(self.services, settings), access_log=None, shutdown_timeout=2)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            await web.TCPSite(runner, "127.0.0.1", port).start()

        self.run(start(), timeout=60)
        self.base = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            with contextlib.suppress(Exception):
                self.run(stack.aclose(), timeout=30)
            self.loop.call_soon_threadsafe(self.loop.stop)
            thread.join(10)


def caption_sink(services: Any) -> Any:
    """The CaptionSink the media server's captioner delivers to (the captions use case)."""
    for name in ("captions", "caption_sink"):
        found = getattr(services, name, None)
        if found is not None:
            return getattr(found, "sink", found)
    raise StepFailed("the composition has no captions service (is cap-domain merged?)")


def caption(meeting_id: str, speaker_id: str, caption_id: str, text: str, final: bool, start_s: float,
            end_s: float) -> Any:
    from domain.captions.model import Caption
    from domain.shared.ids import MeetingId, UserId

    now = dt.datetime.now(dt.UTC)  # said just now, for end_s - start_s seconds
    return Caption(id=caption_id, meeting_id=MeetingId(meeting_id), speaker_id=UserId(speaker_id), text=text,
                   final=final, start_at=now - dt.timedelta(seconds=end_s - start_s), end_at=now)


def words(text: str) -> set[str]:
    return {w.strip(".,!?;:").lower() for w in text.split()}


def speech_wav(path: Path) -> Path:
    """Alice's microphone: espeak-ng saying SPOKEN, then 2 s of silence (a pause ends a window); the
    fake microphone plays it in a loop."""
    import shutil
    import subprocess
    import wave

    if shutil.which("espeak-ng") is None:
        raise StepFailed("espeak-ng is not installed (apt-get install -y espeak-ng)")
    raw = path.with_suffix(".espeak.wav")
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(raw), SPOKEN], check=True, capture_output=True)
    with wave.open(str(raw), "rb") as src:
        params, frames = src.getparams(), src.readframes(src.getnframes())
    with wave.open(str(path), "wb") as out:
        out.setparams(params)
        out.writeframes(frames + b"\0" * (2 * params.framerate * params.sampwidth * params.nchannels))
    return path


# --- the steps -----------------------------------------------------------------------------------------

def user_id(page: Any) -> str:
    return str(page.evaluate("() => JSON.parse(sessionStorage.getItem('confero.session')).user.id"))


def download(page: Any, link: Any) -> str:
    with page.expect_download() as info:
        link.click()
    path = info.value.path()
    return Path(path).read_text(encoding="utf-8")


def scenario() -> dict[str, Any]:
    from playwright.sync_api import expect, sync_playwright

    require_private_netns()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {"APP_ADAPTERS": "memory", "APP_FAST_PASSWORD_HASHING": "true", "APP_MEDIA_HOST_ADDRESSES": "127.0.0.1",
           "APP_LOG_FORMAT": "text"}
    with (tempfile.TemporaryDirectory() as work, Server(env, ARTIFACTS / "allinone-captions.log").serving() as server,
          sync_playwright() as pw):
        run = Run(server.base)
        alice = open_page(run, pw, Path(work) / "profiles", "alice", DESKTOP,
                          microphone=speech_wav(Path(work) / "speech.wav"))
        bob = open_page(run, pw, Path(work) / "profiles", "bob", DESKTOP)
        register(alice, "alice", "Alice")
        register(bob, "bob", "Bob")
        meeting = create_meeting(alice, "Captioned")
        join_from_list(alice, meeting)
        join_by_id_with_password(bob, meeting, wrong_first=False)
        alice_id = user_id(alice)
        run.step("audio flows", lambda: (wait_first_frame(bob, time.monotonic()), audio_flows(bob))[1])

        def mute_alice() -> None:  # her speech comes later: first captions handed to the sink alone
            alice.click("#mic-toggle")
            expect(remote_tile(bob, "Alice")).to_have_attribute("data-audio", "off")
        run.step("alice mutes", mute_alice)

        def off_by_default() -> None:
            expect(alice.locator("#captions-toggle")).to_have_text("Start captions")
            expect(alice.locator("#captions-toggle")).to_have_attribute("aria-pressed", "false")
            expect(bob.locator("#captions-toggle")).to_be_hidden()  # a participant cannot turn them on
            for page in (alice, bob):
                expect(page.locator("#captions-indicator")).to_be_hidden()
        run.step("captions are off by default and only the host has the button", off_by_default)

        def turn_on() -> None:
            alice.click("#captions-toggle")
            expect(alice.locator("#captions-toggle")).to_have_text("Stop captions")
            for page in (alice, bob):
                expect(page.locator("#captions-indicator")).to_be_visible()
                expect(page.locator("body")).to_have_attribute("data-captions", "on")
        run.step("the host turns captions on and both pages show the indicator", turn_on)

        def captions_arrive() -> dict[str, Any]:
            sink = caption_sink(server.services)
            line = remote_tile(bob, "Alice").locator(".caption-line")
            server.run(sink.heard(caption(meeting, alice_id, "w1", PARTIAL, False, 3.0, 4.5)))
            expect(line).to_have_text(PARTIAL)
            expect(line).to_have_class("caption-line partial")
            server.run(sink.heard(caption(meeting, alice_id, "w1", FINAL, True, 3.0, 6.2)))
            expect(line).to_have_text(FINAL)  # the same line, replaced in place by the caption's id
            expect(line).to_have_attribute("data-caption-id", "w1")
            expect(bob.locator("#captions-live")).to_have_text(f"Alice: {FINAL}")  # the aria-live region
            expect(alice.locator(".tile.self .caption-line")).to_have_text(FINAL)  # the speaker sees it too
            run.shot(bob, "captions-01-bob-sees-alices-caption")
            bob.click("#captions-panel-toggle")
            server.run(sink.heard(caption(meeting, alice_id, "w2", SECOND, True, 7.0, 9.0)))
            entries = bob.locator("#captions-log li")
            expect(entries).to_have_count(2)
            expect(entries.nth(0)).to_contain_text(FINAL)
            expect(entries.nth(1)).to_contain_text(SECOND)
            expect(entries.nth(0)).to_contain_text("Alice")
            run.shot(bob, "captions-02-bob-caption-panel")
            return {"panel": entries.all_inner_texts()}
        run.step("captions reach the other page under the speaker's tile and in the panel", captions_arrive)

        def downloads() -> dict[str, str]:
            links = bob.locator("#captions-downloads a")
            expect(links).to_have_count(3)
            files = {fmt: download(bob, bob.locator(f"#captions-downloads a[data-format={fmt}]"))
                     for fmt in ("vtt", "json", "srt")}
            if not files["vtt"].startswith("WEBVTT"):
                raise StepFailed(f"not WebVTT: {files['vtt'][:200]!r}")
            for fmt, text in files.items():
                if FINAL not in text or SECOND not in text:
                    raise StepFailed(f"the {fmt} transcript lacks the captions: {text[:500]!r}")
            json.loads(files["json"])
            return files
        run.step("the transcript downloads from the meeting in three formats", downloads)

        def mobile() -> dict[str, int]:
            bob.set_viewport_size(MOBILE)
            sink = caption_sink(server.services)
            server.run(sink.heard(caption(meeting, alice_id, "w3", "Questions, anyone?", True, 10.0, 11.0)))
            expect(remote_tile(bob, "Alice").locator(".caption-line")).to_be_visible()
            expect(bob.locator("#captions-indicator")).to_be_visible()
            sizes = no_horizontal_scroll(bob)
            run.shot(bob, "captions-03-mobile", full_page=True)
            bob.set_viewport_size(DESKTOP)
            return sizes
        run.step("captions on the mobile layout", mobile)

        def unavailable() -> None:
            sink = caption_sink(server.services)
            server.run(sink.unavailable(meeting, "speech_to_text_unavailable"))
            expect(bob.locator("#captions-state")).to_be_visible()
            expect(bob.locator("#captions-state")).to_contain_text("unavailable")
            run.shot(bob, "captions-04-unavailable")
            server.run(sink.resumed(meeting))
            expect(bob.locator("#captions-state")).to_be_hidden()
            expect(bob.locator("#captions-indicator")).to_be_visible()
        run.step("members are told when captions are unavailable and when they are back", unavailable)

        def speech() -> dict[str, Any]:
            """Alice speaks (espeak-ng through Chromium's fake microphone): the SFU's tap, speech-to-text
            and the captions use case put her words on Bob's page."""
            services = server.services
            if getattr(caption_sink(services), "captioner", None) is None:
                raise StepFailed("the all-in-one has no captioner (is cap-media wired into the composition?)")
            known = set(bob.locator("#captions-log li").evaluate_all("(els) => els.map((e) => e.dataset.captionId)"))
            alice.click("#mic-toggle")
            expect(remote_tile(bob, "Alice")).to_have_attribute("data-audio", "on")
            started = time.monotonic()
            heard = ""
            while time.monotonic() - started < SPEECH_WAIT_S:
                texts = bob.locator("#captions-log li[data-final=true]").evaluate_all(
                    "(els) => els.map((e) => [e.dataset.captionId, e.querySelector('strong').textContent,"
                    " e.querySelector('p').textContent])")
                heard = " ".join(text for cid, who, text in texts if cid not in known and who == "Alice")
                if HEARD_WORDS & words(heard):
                    break
                time.sleep(1.0)
            else:
                raise StepFailed(f"no caption of Alice's speech on Bob's page in {SPEECH_WAIT_S} s: {heard!r}")
            run.timing["speech_to_first_matching_caption_s"] = round(time.monotonic() - started, 1)
            expect(remote_tile(bob, "Alice").locator(".caption-line")).to_be_visible()
            run.shot(bob, "captions-04b-speech")
            alice.click("#mic-toggle")
            return {"heard": heard, "seconds": run.timing["speech_to_first_matching_caption_s"]}
        run.step("alice's speech becomes captions on bob's page", speech)

        def turn_off() -> None:
            alice.click("#captions-toggle")
            expect(alice.locator("#captions-toggle")).to_have_text("Start captions")
            for page in (alice, bob):
                expect(page.locator("#captions-indicator")).to_be_hidden()
        run.step("the host turns captions off and the indicator goes", turn_off)

        def after_the_meeting() -> dict[str, Any]:
            end_meeting_over_http(server.base, meeting)
            expect(bob.locator("#view-lobby")).to_be_visible()
            bob.click("#meetings-tab-past")  # an ended meeting is listed under Past (the meetings tabs)
            bob.click(f"#meetings li[data-meeting-id='{meeting}'] button.transcript")
            dialog = bob.locator("#transcript-dialog")
            expect(dialog).to_be_visible()
            expect(dialog.locator("#transcript-list li").nth(2)).to_be_visible()  # 3 handed over, and speech
            expect(dialog).to_contain_text(FINAL)
            run.shot(bob, "captions-05-transcript-after-the-meeting")
            srt = download(bob, dialog.locator("a[data-format=srt]"))
            if FINAL not in srt or "-->" not in srt:
                raise StepFailed(f"not an SRT transcript: {srt[:300]!r}")
            return {"items": dialog.locator("#transcript-list li").all_inner_texts(), "srt": srt}
        run.step("the transcript shows and downloads from the list after the meeting", after_the_meeting)
        return run.record()


# --- the tests: read the record ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def captioned() -> dict[str, Any]:
    import shutil

    if not unshare_available():
        pytest.fail("browser tests need root, unshare and ip (iproute2) for a private network namespace")
    if shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium (make test does it)")
    result, _ = run_module("tests.browser.test_web_captions", "scenario", timeout=300)
    return result


def passed(record: dict[str, Any], *names: str) -> None:
    for name in names:
        step = record["steps"].get(name)
        assert step is not None, f"step {name} did not run"
        assert step["ok"], (f"{name}: {step['error']}\nnotices: {step['notices']}\n{step['trace']}\n"
                            f"console: {record['console']}")


def test_only_the_host_turns_captions_on_and_every_member_sees_the_indicator(captioned: dict[str, Any]) -> None:
    passed(captioned, "audio flows", "captions are off by default and only the host has the button",
           "the host turns captions on and both pages show the indicator",
           "the host turns captions off and the indicator goes")


def test_a_caption_shows_under_the_speakers_tile_and_in_the_panel(captioned: dict[str, Any]) -> None:
    passed(captioned, "captions reach the other page under the speaker's tile and in the panel",
           "captions on the mobile layout")


def test_members_see_when_captions_are_unavailable(captioned: dict[str, Any]) -> None:
    passed(captioned, "members are told when captions are unavailable and when they are back")


def test_what_is_said_in_chromium_appears_as_captions_on_the_other_page(captioned: dict[str, Any]) -> None:
    passed(captioned, "alice's speech becomes captions on bob's page")
    print(captioned["steps"]["alice's speech becomes captions on bob's page"]["value"])


def test_the_transcript_downloads_during_and_after_the_meeting(captioned: dict[str, Any]) -> None:
    passed(captioned, "the transcript downloads from the meeting in three formats",
           "the transcript shows and downloads from the list after the meeting")


if __name__ == "__main__" and sys.argv[1:] == ["scenario"]:
    emit_result(scenario())
