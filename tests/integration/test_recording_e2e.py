"""Recording through the HTTP API of the all-in-one: the host records a meeting of three aiortc members
(one joins mid-recording, one leaves), everyone is told over signaling, and the files the SFU wrote
into APP_RECORDINGS_DIR pass ffprobe, a full decode and the drawn-counter checks; the meeting file
holds every video; a download link serves the file.  And the all-in-one on SQLite killed (SIGKILL)
mid-recording: started again, it recovers the recording from what was uploaded and completes it.

Like tests/integration/test_sfu_meeting.py (whose app process and member client it reuses), pytest
re-runs this module under ``unshare -n``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_recording_media import assert_good_stay, check_stay
from tests.support.netns import allow_loopback_candidates, emit_result, require_unshare, run_module

MODULE = "tests.integration.test_recording_e2e"
FPS = 15


def stored(directory: Path, recording: dict[str, Any], file: dict[str, Any]) -> Path:
    """Where the directory store keeps a file of the recording (the API names files, not keys)."""
    [path] = [p for p in (directory / "objects").rglob(file["name"]) if recording["id"] in p.parts]
    return path


async def connected_at(member: Any) -> float:
    while member.pc.connectionState != "connected":
        await asyncio.sleep(0.01)
    return time.monotonic()


async def scenario(directory: Path) -> dict[str, Any]:
    import aiohttp
    from aiortc import AudioStreamTrack

    from tests.integration.test_sfu_meeting import App, Member, ToneTrack
    from tests.support.webrtc_rig import MarkedVideoTrack

    os.environ["APP_RECORDINGS_DIR"] = str(directory)
    app = App(18870)
    await app.start()
    result: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession() as session:
            ann, bob, cat = members = [Member(n, app, session) for n in ("ann", "bob", "cat")]
            try:
                for m in members:
                    await m.sign_up()
                _, meeting = await ann.http("POST", "/api/v1/meetings", json={"title": "Recorded standup"})
                room = meeting["id"]
                for m in (ann, bob):
                    await m.connect()
                    await m.join(room)
                await ann.publish(MarkedVideoTrack(FPS), ToneTrack.make())
                await bob.publish(MarkedVideoTrack(FPS), AudioStreamTrack())
                await ann.receiving(bob)
                await bob.receiving(ann)

                status, rec = await ann.http("POST", "/api/v1/recordings", json={"meeting_id": room})
                started = time.monotonic()
                assert status == 201, rec
                result["started_notice"] = (await bob.next("recording_started"))["data"]
                await asyncio.sleep(4.0)

                await cat.connect()
                state = await cat.join(room)
                result["cat_saw_recording"] = state.get("recording")
                await cat.publish(MarkedVideoTrack(FPS), AudioStreamTrack())
                cat_from = await connected_at(cat)
                await cat.receiving(ann, bob)
                await asyncio.sleep(6.0)

                bob_left = time.monotonic()
                await bob.send("leave_room", {"room_id": room})
                await asyncio.sleep(5.0)

                stopping = time.monotonic()
                status, _ = await ann.http("POST", f"/api/v1/recordings/{rec['id']}/stop")
                assert status == 200
                result["stopped_notice"] = (await cat.next("recording_stopped"))["data"]
                deadline = time.monotonic() + 120
                while True:
                    _, got = await ann.http("GET", f"/api/v1/recordings/{rec['id']}")
                    if got["state"] in ("completed", "failed") or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.5)
                result["recording"] = got
                result["present"] = {ann.user_id: stopping - started, bob.user_id: bob_left - started,
                                     cat.user_id: stopping - cat_from}
                meeting_file = [f for f in got["files"] if f.get("user_id") is None]
                if meeting_file:
                    async with session.get(app.base + meeting_file[0]["download_url"],
                                           headers={"Range": "bytes=0-99"}) as reply:
                        result["download"] = [reply.status, len(await reply.read())]
            finally:
                for m in members:
                    await m.close()
    finally:
        if app.proc is not None and app.proc.returncode is None:
            app.proc.kill()
            await app.proc.wait()
    return result


async def crash_scenario(directory: Path) -> dict[str, Any]:
    """The all-in-one on SQLite records two members, is killed (SIGKILL) and started again."""
    import aiohttp
    from aiortc import AudioStreamTrack

    from tests.integration.test_sfu_meeting import App, Member, ToneTrack
    from tests.support.webrtc_rig import MarkedVideoTrack

    os.environ["APP_RECORDINGS_DIR"] = str(directory)
    os.environ["APP_SQLITE_PATH"] = str(directory / "app.sqlite3")
    app = App(18871)
    await app.start()
    result: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession() as session:
            ann, bob = members = [Member(n, app, session) for n in ("ann", "bob")]
            try:
                for m in members:
                    await m.sign_up()
                _, meeting = await ann.http("POST", "/api/v1/meetings", json={"title": "Crashing standup"})
                for m in members:
                    await m.connect()
                    await m.join(meeting["id"])
                await ann.publish(MarkedVideoTrack(FPS), ToneTrack.make())
                await bob.publish(MarkedVideoTrack(FPS), AudioStreamTrack())
                await ann.receiving(bob)
                await bob.receiving(ann)
                status, rec = await ann.http("POST", "/api/v1/recordings", json={"meeting_id": meeting["id"]})
                started = time.monotonic()
                assert status == 201, rec
                await asyncio.sleep(8.0)
                assert app.proc is not None
                app.proc.kill()
                await app.proc.wait()
                result["recorded_s"] = time.monotonic() - started
            finally:
                for m in members:
                    await m.close()
            await app.start()  # same database and directory: the recovery worker finds the recording
            deadline = time.monotonic() + 120
            while True:
                _, got = await ann.http("GET", f"/api/v1/recordings/{rec['id']}")
                if got["state"] in ("completed", "failed") or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            result["recording"] = got
            result["users"] = [ann.user_id, bob.user_id]
    finally:
        if app.proc is not None and app.proc.returncode is None:
            app.proc.kill()
            await app.proc.wait()
    return result


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    require_unshare()
    directory = tmp_path_factory.mktemp("recordings")
    result, _ = run_module(MODULE, str(directory), timeout=300)
    return result, directory


def test_the_host_records_everyone_is_told_and_the_recording_completes(recorded: tuple[dict[str, Any], Path]) -> None:
    result, _ = recorded
    rec = result["recording"]
    assert rec["state"] == "completed", rec
    assert result["started_notice"]["recording_id"] == rec["id"]
    assert result["cat_saw_recording"]["recording_id"] == rec["id"]
    assert result["stopped_notice"]["recording_id"] == rec["id"]
    assert result["download"] == [206, 100]


def test_every_member_stay_is_a_checked_file_as_long_as_they_were_there(recorded: tuple[dict[str, Any], Path]) -> None:
    result, directory = recorded
    stays = [f for f in result["recording"]["files"] if f.get("user_id") is not None]
    assert sorted(f["user_id"] for f in stays) == sorted(result["present"])
    for file in stays:
        path = stored(directory, result["recording"], file)
        assert path.stat().st_size == file["size"]
        assert_good_stay(check_stay(path, result["present"][file["user_id"]]))


def test_the_meeting_file_plays_and_holds_every_video(recorded: tuple[dict[str, Any], Path]) -> None:
    from tests.support.encoded import decode_errors, probe, streams, tile_counters

    result, directory = recorded
    [meeting] = [f for f in result["recording"]["files"] if f.get("user_id") is None]
    path = stored(directory, result["recording"], meeting)
    info = probe(path)
    assert {k: s["codec_name"] for k, s in streams(info).items()} == {"video": "vp8", "audio": "opus"}
    assert decode_errors(path) == ""
    tiles = tile_counters(path, [(0, 0), (320, 0), (0, 240)])
    for index in range(3):
        assert sum(1 for _, values in tiles if values[index] is not None) > 3 * FPS, f"tile {index}"


def test_after_a_kill_9_the_restarted_all_in_one_recovers_and_completes_the_recording(tmp_path: Path) -> None:
    require_unshare()
    result, _ = run_module(MODULE, str(tmp_path), "crash", timeout=300)
    rec = result["recording"]
    assert rec["state"] == "completed", rec
    stays = [f for f in rec["files"] if f.get("user_id") is not None]
    assert sorted(f["user_id"] for f in stays) == sorted(result["users"])
    for file in stays:
        facts = check_stay(stored(tmp_path, rec, file), result["recorded_s"])
        lost = result["recorded_s"] - facts["duration"]
        assert -0.5 < lost <= 2.0 + 1.5, lost  # the upload interval (APP_RECORDING_UPLOAD_INTERVAL) and the open cluster
        facts["present"] = facts["duration"]
        assert_good_stay(facts)
    assert [f for f in rec["files"] if f.get("user_id") is None], "the meeting file is made after the recovery"


if __name__ == "__main__":
    allow_loopback_candidates()
    run = crash_scenario if sys.argv[2:] == ["crash"] else scenario
    emit_result(asyncio.run(run(Path(sys.argv[1]))))
