"""Browser tests: the web client in Debian's Chromium, driven by Playwright, inside ``unshare -n``.

The pytest process sends no WebRTC traffic. The module-scoped ``browser_run`` fixture re-runs
test_web_client.py as ``python -m tests.browser.test_web_client`` under ``unshare -n`` (loopback
up); that child starts the all-in-one inside the namespace, drives one meeting with three Chromium
profiles, records what every step saw, and prints the record as its RESULT line. The tests assert
on that record, so one slow browser session serves them all and a failed step does not hide the
others. Screenshots and the server log go to artifacts/browser/ (gitignored).

Install (``make test`` does it): ``apt-get install -y chromium`` and ``pip install playwright``;
never ``playwright install`` (it downloads a browser; Debian's is used through executable_path).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.netns import ROOT, run_module, unshare_available

ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection",
]
_summary: dict[str, Any] = {}


def open_browser(playwright: Any, profile_dir: Path, viewport: dict[str, int], microphone: Path | None = None) -> Any:
    """A Chromium of its own with a fresh profile (Playwright refuses --user-data-dir in args).
    ``microphone``: a WAV file the fake microphone plays in a loop instead of its short beeps."""
    extra = [f"--use-file-for-fake-audio-capture={microphone}"] if microphone else []
    return playwright.chromium.launch_persistent_context(
        str(profile_dir), executable_path=shutil.which("chromium"), args=[*CHROMIUM_FLAGS, *extra], headless=True,
        viewport=viewport)


def write_tone(path: Path, seconds: float = 5.0, hz: float = 440.0, rate: int = 48000) -> Path:
    """A loud sine wave: someone who keeps talking, for the active-speaker detector."""
    import math
    import struct
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", int(20000 * math.sin(2 * math.pi * hz * i / rate)))
                                 for i in range(int(seconds * rate))))
    return path


@pytest.fixture(scope="module")
def browser_run() -> dict[str, Any]:
    if not unshare_available():
        pytest.fail("browser tests need root, unshare and ip (iproute2) for a private network namespace")
    if shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium (make test does it)")
    result, _ = run_module("tests.browser.test_web_client", "scenario", timeout=300)
    _summary.update(result)
    return result


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _summary:
        return
    write = terminalreporter.write_line
    terminalreporter.section("browser client (Chromium)")
    timing = _summary.get("timing", {})
    for key, label in (("join_to_first_frame_ms", "join click -> first decoded remote frame (in page)"),
                       ("join_to_first_frame_polled_ms", "join click -> framesDecoded > 0 (polled getStats)")):
        value = timing.get(key)
        write(f"{label}: {value} ms" if value is not None else f"{label}: not reached")
    for path in _summary.get("screenshots", []):
        write(f"screenshot: {path}")
    write(f"server log: {_summary.get('server_log')}")
