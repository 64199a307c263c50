"""Recording from the web client: in real Chromium the host clicks Record, the guest sees the indicator,
the host stops, the meeting's recordings show up ready, and the files the SFU wrote into
APP_RECORDINGS_DIR (Chromium's own VP8 and Opus) pass ffprobe and a full ffmpeg decode.

Like test_web_client.py, pytest re-runs this module as ``python -m tests.browser.test_web_recording
scenario`` under ``unshare -n`` and asserts on its record.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_web_client import (
    DESKTOP,
    Run,
    create_meeting,
    join_by_id_with_password,
    join_from_list,
    media_flows,
    open_page,
    register,
)
from tests.support.netns import emit_result, require_private_netns, run_module, unshare_available
from tests.support.process import allinone

pytestmark = pytest.mark.timeout(420)
RECORD_S = 8.0


def file_facts(path: Path) -> dict[str, Any]:
    from tests.support.encoded import decode_errors, probe, streams

    info = probe(path)
    kinds = streams(info)
    return {"codecs": sorted(s["codec_name"] for s in kinds.values()), "duration": float(info["format"]["duration"]),
            "video_packets": int(kinds["video"]["nb_read_packets"]) if "video" in kinds else 0,
            "errors": decode_errors(path)}


def scenario() -> dict[str, Any]:
    from playwright.sync_api import expect, sync_playwright

    require_private_netns()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        recordings = Path(work) / "recordings"
        env = {"APP_ADAPTERS": "memory", "APP_FAST_PASSWORD_HASHING": "true", "APP_MEDIA_HOST_ADDRESSES": "127.0.0.1",
               "APP_LOG_FORMAT": "text", "APP_RECORDINGS_DIR": str(recordings)}
        with allinone(env, ARTIFACTS / "allinone-recording.log") as base, sync_playwright() as pw:
            run = Run(base)
            alice = open_page(run, pw, Path(work) / "profiles", "alice", DESKTOP)
            bob = open_page(run, pw, Path(work) / "profiles", "bob", DESKTOP)
            register(alice, "alice", "Alice")
            register(bob, "bob", "Bob")
            meeting = create_meeting(alice, "Recorded")
            join_from_list(alice, meeting)
            join_by_id_with_password(bob, meeting, wrong_first=False)
            run.step("media flows", lambda: media_flows(bob, "Alice"))

            def start() -> float:
                alice.click("#record-toggle")
                expect(alice.locator("#record-toggle")).to_have_text("Stop recording")
                expect(bob.locator("#recording-indicator")).to_be_visible()
                expect(bob.locator("#record-toggle")).to_be_hidden()  # a guest cannot record
                return time.monotonic()

            started = run.step("the host starts recording and the guest sees the indicator", start)
            time.sleep(RECORD_S)

            def stop() -> float:
                stopping = time.monotonic()
                alice.click("#record-toggle")
                expect(alice.locator("#record-toggle")).to_have_text("Record")
                expect(bob.locator("#recording-indicator")).to_be_hidden()
                return stopping

            stopped = run.step("the host stops and the indicator goes", stop)

            def ready() -> list[str]:
                item = alice.locator("#recordings-list li").first
                for _ in range(60):
                    alice.click("#reload-recordings")
                    if item.get_attribute("data-state", timeout=2000) == "completed":
                        break
                    time.sleep(1.0)
                expect(item).to_have_attribute("data-state", "completed")
                return [a.inner_text() for a in item.locator("a").all()]

            run.step("the recording shows up ready with its download links", ready)

            def subtitles() -> str:  # the captions of the recording's span (none here: captions were off)
                link = alice.locator("#recordings-list li").first.locator("a.recording-transcript")
                with alice.expect_download() as info:
                    link.click()
                return Path(info.value.path()).read_text(encoding="utf-8")

            run.step("the recording's subtitles download as WebVTT", subtitles)
            run.shot(alice, "recording-ready")
            files = {str(p.relative_to(recordings)): file_facts(p)
                     for p in sorted((recordings / "objects").rglob("*.webm"))}
            record = run.record()
            record.update(files=files, recorded_s=(stopped or 0) - (started or 0))
            return record


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    import shutil

    if not unshare_available():
        pytest.fail("browser tests need root, unshare and ip (iproute2) for a private network namespace")
    if shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium (make test does it)")
    result, _ = run_module("tests.browser.test_web_recording", "scenario", timeout=300)
    return result


def test_every_step_of_recording_from_the_page_works(recorded: dict[str, Any]) -> None:
    failed = {name: step for name, step in recorded["steps"].items() if not step["ok"]}
    assert not failed, failed
    links = recorded["steps"]["the recording shows up ready with its download links"]["value"]
    assert sum("participant file" in text for text in links) == 2 and sum("meeting file" in text for text in links) == 1
    assert recorded["steps"]["the recording's subtitles download as WebVTT"]["value"].startswith("WEBVTT")


def test_the_files_of_chromium_media_are_vp8_and_opus_and_decode_cleanly(recorded: dict[str, Any]) -> None:
    files = recorded["files"]
    stays = {k: v for k, v in files.items() if not k.endswith("/meeting.webm")}
    meeting = [v for k, v in files.items() if k.endswith("/meeting.webm")]
    assert len(stays) == 2 and len(meeting) == 1, sorted(files)
    for name, facts in files.items():
        assert facts["codecs"] == ["opus", "vp8"], (name, facts)
        assert facts["errors"] == "", (name, facts)
    for name, facts in stays.items():
        # Chromium's fake camera is 30 fps but adapts; the stay lasts from the start to the stop
        assert abs(facts["duration"] - recorded["recorded_s"]) < 1.0, (name, facts, recorded["recorded_s"])
        assert facts["video_packets"] > 5 * facts["duration"], (name, facts)


if __name__ == "__main__":
    if sys.argv[1:] == ["scenario"]:
        emit_result(scenario())
