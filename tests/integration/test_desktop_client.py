"""The desktop client (clients/desktop, Qt offscreen) in a meeting with an aiortc member, through the
all-in-one's SFU, everything inside a private network namespace.

pytest starts ``python -m tests.integration.test_desktop_client meeting`` under ``unshare -n``; that
scenario starts the app as a child (``tests.integration.test_sfu_meeting app PORT``: the real
composition), then runs the Qt window and the aiortc member (``test_sfu_meeting.Member``) on one qasync
loop. The window is driven as a user would: its fields are filled and its buttons clicked. It sends the
client's test pattern and tone, and plays what it receives to ALSA's null device; the member sends
marked frames (tests/support/webrtc_rig.py). A screenshot of the window goes to artifacts/desktop/.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.netns import ROOT, allow_loopback_candidates, emit_result, require_unshare, run_module

MODULE = "tests.integration.test_desktop_client"
ARTIFACTS = ROOT / "artifacts" / "desktop"
SCREENSHOT = ARTIFACTS / "desktop-client.png"
PORT = 18811
FPS = 15
PASSWORD = "correct horse battery staple"
NOTHING_LEFT = {"connections": 0, "rooms": 0, "sfu_tasks": [], "open_peer_connections": 0, "open_transports": 0}


# --- the scenario, inside the namespace --------------------------------------------------------------

class AppProcess:
    """The all-in-one as a child process, with test_sfu_meeting's stdin hook (``inspect``, ``quit``).
    Started and asked synchronously, outside the Qt loop."""

    def __init__(self, port: int) -> None:
        env = {**os.environ, "APP_FAST_PASSWORD_HASHING": "true", "APP_LOG_LEVEL": "WARNING",
               "APP_LOG_FORMAT": "text", "APP_JWT_SECRET": "desktop-client-test-secret-0123456789abcdef"}
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.integration.test_sfu_meeting", "app", str(port)],
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "READY"

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> dict[str, Any]:
        after = self.ask("quit")
        self.proc.wait(20)
        return after


async def until(condition: Callable[[], Any], what: str, timeout: float = 30) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not within {timeout}s: {what}") from None


def counter_of(image: Any) -> int:
    """The frame counter that MarkedVideoTrack draws in row 0 (16x16 blocks, 20 bits), read from the
    picture the tile shows."""
    from tests.support.webrtc_rig import BITS_PER_ROW, BLOCK

    sx, sy = image.width() / 320, image.height() / 240
    return sum(1 << bit for bit in range(BITS_PER_ROW)
               if image.pixelColor(int((bit * BLOCK + BLOCK // 2) * sx), int(BLOCK // 2 * sy)).lightness() > 128)


def bars_seen(frame: Any) -> list[bool]:
    """Whether each of the test pattern's colour bars is where it should be in a decoded frame."""
    from clients.desktop.media import BARS, rgb_image

    width, height, stride, rgb = rgb_image(frame)
    y = height // 3
    out = []
    for index, colour in enumerate(BARS):
        x = (2 * index + 1) * width // (2 * len(BARS))
        pixel = rgb[y * stride + 3 * x: y * stride + 3 * x + 3]
        out.append(all(abs(a - b) < 40 for a, b in zip(pixel, colour)))
    return out


def lit_share(window: Any, tile: Any) -> float:
    """The share of sampled pixels of ``tile``, in a screenshot of the whole window, that are not dark."""
    from PySide6.QtCore import QPoint

    image = window.grab().toImage()
    origin = tile.mapTo(window, QPoint(0, 0))
    points = [(origin.x() + tile.width() * i // 20, origin.y() + tile.height() * j // 20)
              for i in range(1, 20) for j in range(1, 18)]
    return sum(1 for x, y in points if image.pixelColor(x, y).lightness() > 60) / len(points)


async def desktop_meeting(base: str) -> dict[str, Any]:
    import aiohttp
    from aiortc import AudioStreamTrack

    from clients.desktop.ui import MainWindow, Options
    from tests.integration.test_sfu_meeting import Member
    from tests.support.webrtc_rig import MarkedVideoTrack

    result: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http:
        bob = Member("bob", SimpleNamespace(base=base), http)
        await bob.sign_up()
        window = MainWindow(Options(server=base, video="test", audio="tone", speaker="alsa:null"), http)
        window.resize(1100, 620)
        window.show()
        try:
            # sign up and in, create a meeting, as a user would
            p = window.sign_in_page
            p.username.setText("ann")
            p.password.setText("not the password at all")
            p.sign_in.click()  # no such account yet: the window says why and stays
            await until(lambda: window.status.currentMessage().startswith("Error"), "a refused sign-in shows")
            result["bad_sign_in"] = [window.status.currentMessage(), window.stack.currentWidget() is p]
            p.password.setText(PASSWORD)
            p.email.setText("ann@example.com")
            p.sign_up.click()
            m = window.meetings_page
            await until(lambda: window.stack.currentWidget() is m, "signed in")
            m.title.setText("Desktop standup")
            m.create.click()
            await until(lambda: m.list.count() == 1, "the new meeting is listed")
            room = m.meeting_id.text()
            result["listed"] = m.list.item(0).text()
            m.meeting_id.setText("00000000-0000-4000-8000-000000000000")
            m.join_by_id.click()
            await until(lambda: "meeting_not_found" in window.status.currentMessage(), "a refused join shows")
            result["bad_join"] = [window.stack.currentWidget() is m, window.session is None]

            await bob.connect()
            await bob.join(room)
            await bob.publish(MarkedVideoTrack(FPS), AudioStreamTrack())

            m.list.setCurrentRow(0)
            clicked = time.monotonic()
            m.join_selected.click()
            c = window.call_page
            await until(lambda: window.stack.currentWidget() is c, "joined")
            assert window.api is not None and window.api.account is not None
            ann = window.api.account.user_id
            result["ann_joined"] = (await bob.next("member_joined", where=lambda d: d["user_id"] == ann))["data"][
                "display_name"]

            # video and audio both ways
            await until(lambda: bob.user_id in c.tiles and c.tiles[bob.user_id].frames > 0, "bob's first frame")
            result["join_to_first_frame_s"] = round(time.monotonic() - clicked, 2)  # reported, not asserted
            await until(lambda: bob.user_id in c.tiles and c.tiles[bob.user_id].frames >= 2 * FPS,
                        "the window shows bob's video")
            await until(lambda: (v := bob.media.get(f"{ann}-video")) is not None and len(v.video) >= 2 * FPS,
                        "bob receives ann's video")
            await until(lambda: c.tiles[bob.user_id].audio_frames > 50, "the window receives bob's audio")
            await until(lambda: (a := bob.media.get(f"{ann}-audio")) is not None and a.audio_frames > 50,
                        "bob receives ann's audio")
            tile = c.tiles[bob.user_id]
            first = counter_of(tile.image)
            await until(lambda: counter_of(tile.image) > first, "bob's picture moves in the window")
            result["tile_counters"] = [first, counter_of(tile.image)]
            result["self_view_frames"] = c.tiles[ann].frames
            result["bars_bob_sees"] = bars_seen(bob.media[f"{ann}-video"].last_frame)

            # chat both ways
            c.chat_input.setText("hello bob")
            c.send.click()
            got = await bob.next("chat", where=lambda d: d["text"] == "hello bob")
            result["chat_to_bob"] = [got["data"]["display_name"], got["data"]["from"] == ann]
            await bob.send("chat", {"room_id": room, "text": "hi ann"})
            await until(lambda: "bob: hi ann" in [c.chat.item(i).text() for i in range(c.chat.count())],
                        "bob's chat in the window")
            result["chat_in_window"] = [c.chat.item(i).text() for i in range(c.chat.count())]

            # mute: the others hear of it, and no audio flows until unmute
            audio = bob.media[f"{ann}-audio"]
            c.mute.click()
            muted = await bob.next("media_state", where=lambda d: d["user_id"] == ann)
            await asyncio.sleep(1.0)  # packets already on their way arrive
            before = audio.audio_frames
            await asyncio.sleep(2.0)
            result["mute"] = {"state": muted["data"]["audio"], "frames_while_muted": audio.audio_frames - before,
                              "button": c.mute.text(), "self_tile_muted": c.tiles[ann].muted}
            c.mute.click()
            unmuted = await bob.next("media_state", where=lambda d: d["user_id"] == ann)
            before = audio.audio_frames
            await until(lambda: audio.audio_frames > before + 25, "ann's audio flows again")
            result["unmute"] = {"state": unmuted["data"]["audio"], "button": c.mute.text()}
            await bob.send("media_state", {"room_id": room, "audio": False, "video": True, "screen": False})
            await until(lambda: c.tiles[bob.user_id].muted, "the window shows bob muted")

            # a third member joins after the window: the SFU offers its tracks to the window, which adds a tile
            cat = Member("cat", SimpleNamespace(base=base), http)
            await cat.sign_up()
            await cat.connect()
            await cat.join(room)
            await cat.publish(MarkedVideoTrack(FPS), AudioStreamTrack())
            try:
                await until(lambda: cat.user_id in c.tiles and c.tiles[cat.user_id].frames >= FPS,
                            "the window shows cat's video")
                await cat.receiving(bob)
                await until(lambda: (v := cat.media.get(f"{ann}-video")) is not None and len(v.video) >= FPS,
                            "cat receives ann's video")
                result["cat_sees_bars"] = bars_seen(cat.media[f"{ann}-video"].last_frame)

                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                result["screenshot_saved"] = window.grab().save(str(SCREENSHOT))
                result["lit"] = {"bob": lit_share(window, c.tiles[bob.user_id]),
                                 "self": lit_share(window, c.tiles[ann]), "cat": lit_share(window, c.tiles[cat.user_id])}
                await cat.send("leave_room", {"room_id": room})
                await until(lambda: cat.user_id not in c.tiles, "cat's tile goes")
                await until(lambda: not any(key[0] == cat.user_id for key in window._media_tasks),
                            "nothing of cat is shown or played")
                result["tiles_after_cat"] = sorted(c.tiles) == sorted([ann, bob.user_id])
            finally:
                await cat.close()

            assert window.speaker is not None
            result["speaker"] = {"chunks_played": window.speaker.chunks_played, "error": repr(window.speaker.error)}

            # leave
            c.leave.click()
            left = await bob.next("member_left", where=lambda d: d["user_id"] == ann)
            await until(lambda: window.stack.currentWidget() is m and window.session is None, "back to the list")
            result["left"] = {"reason": left["data"]["reason"], "tiles": len(c.tiles),
                              "media_tasks": len(window._media_tasks)}
            await bob.send("leave_room", {"room_id": room})
            leave_id = f"bob{bob._next}"  # Member numbers its requests so
            await until(lambda: any(m.get("re") == leave_id for m in bob.inbox), "bob's leave is acknowledged")
        finally:
            await bob.close()
            window.close()
            await window.closed
    return result


def scenario() -> dict[str, Any]:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    import qasync
    from PySide6.QtWidgets import QApplication

    app = AppProcess(PORT)
    try:
        qt = QApplication([])
        qt.setQuitOnLastWindowClosed(False)  # as clients.desktop's main: the window leaves, then closes
        loop = qasync.QEventLoop(qt)
        asyncio.set_event_loop(loop)
        with loop:
            result = loop.run_until_complete(desktop_meeting(app.base))
        # the SFU closes a leaver's connection when it hears the room's event, just after the leave's ack
        for _ in range(40):
            result["after_everyone_left"] = app.ask("inspect")
            if result["after_everyone_left"] == NOTHING_LEFT:
                break
            time.sleep(0.25)
        result["after_shutdown"] = app.stop()
        return result
    finally:
        if app.proc.poll() is None:
            app.proc.kill()


# --- tests ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def meeting() -> dict[str, Any]:
    require_unshare()
    result, _ = run_module(MODULE, "meeting", timeout=240)
    return result


def test_the_window_signs_up_creates_a_meeting_lists_it_and_joins_it(meeting: dict[str, Any]) -> None:
    assert meeting["listed"].startswith("Desktop standup  [scheduled]")
    assert meeting["ann_joined"] == "ann"


def test_the_window_shows_what_the_server_refused_and_stays_where_it_was(meeting: dict[str, Any]) -> None:
    message, on_sign_in = meeting["bad_sign_in"]
    assert "401 invalid_credentials" in message and on_sign_in
    assert meeting["bad_join"] == [True, True]


def test_the_desktop_client_and_an_aiortc_member_each_receive_the_others_video(meeting: dict[str, Any]) -> None:
    first, later = meeting["tile_counters"]
    assert later > first  # the tile shows bob's frames as they come, counter drawn by bob's track
    assert meeting["self_view_frames"] >= FPS
    assert meeting["bars_bob_sees"] == [True] * 7  # the client's test pattern, decoded by bob


def test_a_member_who_joins_later_gets_a_tile_and_sees_the_window_and_loses_the_tile_on_leaving(
        meeting: dict[str, Any]) -> None:
    assert meeting["cat_sees_bars"] == [True] * 7
    assert meeting["tiles_after_cat"] is True


def test_the_screenshot_shows_the_video_tiles(meeting: dict[str, Any]) -> None:
    assert meeting["screenshot_saved"] is True and SCREENSHOT.stat().st_size > 10_000
    assert meeting["lit"]["self"] > 0.3  # colour bars over most of the picture (the tile letterboxes it)
    assert meeting["lit"]["bob"] > 0.05 and meeting["lit"]["cat"] > 0.05  # their marks: white blocks on grey


def test_the_others_audio_is_played_on_the_output_device(meeting: dict[str, Any]) -> None:
    assert meeting["speaker"]["error"] == "None"
    assert meeting["speaker"]["chunks_played"] > 100  # 20 ms chunks of bob's audio, to ALSA's null device


def test_chat_goes_both_ways(meeting: dict[str, Any]) -> None:
    assert meeting["chat_to_bob"] == ["ann", True]
    assert meeting["chat_in_window"] == ["ann: hello bob", "bob: hi ann"]


def test_mute_reaches_the_other_side_and_stops_the_audio_until_unmute(meeting: dict[str, Any]) -> None:
    assert meeting["mute"] == {"state": False, "frames_while_muted": 0, "button": "Unmute", "self_tile_muted": True}
    assert meeting["unmute"] == {"state": True, "button": "Mute"}


def test_leaving_returns_to_the_list_and_leaves_nothing_behind_on_the_server(meeting: dict[str, Any]) -> None:
    assert meeting["left"] == {"reason": "left", "tiles": 0, "media_tasks": 0}
    assert meeting["after_everyone_left"] == NOTHING_LEFT
    assert meeting["after_shutdown"] == NOTHING_LEFT


if __name__ == "__main__":
    allow_loopback_candidates()
    emit_result(scenario())
