"""Recording a meeting held through the SFU: aiortc members in a private network namespace.

pytest re-runs this module under ``unshare -n`` (``python -m tests.integration.test_recording_media
SCENARIO DIR``); the scenario starts the recording SFU in its own process
(tests/support/recording_rig.py, a directory blob store at DIR) and drives the members.  The tests
read the scenario's RESULT line and check the files it left in DIR with ffprobe and ffmpeg.

- meeting: ann and bob publish; the recording starts; cat joins 5 s later; bob leaves 8 s after;
  the recording stops 7 s after that.  One file per stay, each as long as its member was there.
- crash: the recording process is killed (SIGKILL) mid-recording; a new process recovers playable
  files up to the crash minus the upload interval.
- restart: ann restarts her connection in place (an ICE restart, docs/signaling.md 13.12) mid-recording:
  her stay goes on in the same file.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.netns import allow_loopback_candidates, emit_result, require_unshare, run_module

MODULE = "tests.integration.test_recording_media"
FPS = 15
RECORDING = "00000000-0000-4000-8000-0000000000bb"
PREFIX = f"recordings/{RECORDING}"
UPLOAD_INTERVAL = 2.0


@pytest.fixture
def netns_capable() -> None:
    require_unshare()


needs_netns = pytest.mark.usefixtures("netns_capable")


# --- scenarios (inside the namespace) --------------------------------------------------------------

async def scenario_meeting(directory: Path) -> dict[str, Any]:
    from tests.support.recording_rig import ROOM, MeetingMember, RecordingSfu

    async with RecordingSfu(directory, UPLOAD_INTERVAL) as sfu:
        ann, bob, cat = (MeetingMember(sfu, f"00000000-0000-4000-8000-00000000000{i}") for i in (1, 2, 3))
        await ann.publish()
        await bob.publish()
        await asyncio.sleep(1.0)
        await sfu.call("start", recording=RECORDING, room=ROOM, prefix=PREFIX)
        started = time.monotonic()
        await asyncio.sleep(5.0)
        await cat.publish()
        await asyncio.sleep(8.0)
        bob_left = await bob.leave()
        await asyncio.sleep(7.0)
        stats = await sfu.call("stats")
        stopping = time.monotonic()
        files = (await sfu.call("stop", recording=RECORDING))["files"]
        received = {m.user_id: m.received for m in (ann, cat)}
        for m in (ann, cat):
            await m.close()
    assert cat.connected_at is not None
    return {"files": files, "stats": stats, "received": received,
            "present": {ann.user_id: stopping - started, bob.user_id: bob_left - started,
                        cat.user_id: stopping - cat.connected_at},
            "names": {"ann": ann.user_id, "bob": bob.user_id, "cat": cat.user_id}}


async def two_members_recorded(sfu: Any) -> tuple[Any, Any, float]:
    """Ann and Bob publishing, then the recording started: (ann, bob, when it started)."""
    from tests.support.recording_rig import ROOM, MeetingMember

    ann, bob = (MeetingMember(sfu, f"00000000-0000-4000-8000-00000000000{i}") for i in (1, 2))
    await ann.publish()
    await bob.publish()
    await asyncio.sleep(1.0)
    await sfu.call("start", recording=RECORDING, room=ROOM, prefix=PREFIX)
    return ann, bob, time.monotonic()


async def scenario_crash(directory: Path) -> dict[str, Any]:
    from tests.support.recording_rig import RecordingSfu

    async with RecordingSfu(directory, UPLOAD_INTERVAL) as sfu:
        ann, bob, started = await two_members_recorded(sfu)
        await asyncio.sleep(9.0)
        killed = time.monotonic()
        await sfu.kill()
        for m in (ann, bob):
            await m.close()
    async with RecordingSfu(directory, UPLOAD_INTERVAL) as again:
        files = (await again.call("recover", recording=RECORDING, prefix=PREFIX))["files"]
        files_again = (await again.call("recover", recording=RECORDING, prefix=PREFIX))["files"]
    return {"files": files, "files_again": files_again, "recorded_s": killed - started}


async def scenario_restart(directory: Path) -> dict[str, Any]:
    from tests.support.recording_rig import RecordingSfu

    async with RecordingSfu(directory, UPLOAD_INTERVAL) as sfu:
        ann, bob, started = await two_members_recorded(sfu)
        await asyncio.sleep(4.0)
        counter_at_restart = ann.video.counter
        await ann.restart()
        await asyncio.sleep(4.0)
        stopping = time.monotonic()
        files = (await sfu.call("stop", recording=RECORDING))["files"]
        for m in (ann, bob):
            await m.close()
    return {"files": files, "present_s": stopping - started, "counter_at_restart": counter_at_restart,
            "ann": ann.user_id}


# --- tests -----------------------------------------------------------------------------------------

def local(directory: Path, key: str) -> Path:
    return directory / "objects" / key


@pytest.fixture(scope="module")
def meeting(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    require_unshare()
    directory = tmp_path_factory.mktemp("recording")
    result, _ = run_module(MODULE, "meeting", str(directory), timeout=240)
    return result, directory


def check_stay(path: Path, present_s: float) -> dict[str, Any]:
    from tests.support.encoded import clock_drift_ms, counters, decode_errors, first_times, probe, streams

    info = probe(path)
    kinds = streams(info)
    duration = float(info["format"]["duration"])
    seen = counters(path)
    return {"codecs": {k: s["codec_name"] for k, s in kinds.items()}, "duration": duration,
            "present": present_s, "errors": decode_errors(path),
            "video_packets": int(kinds["video"]["nb_read_packets"]) if "video" in kinds else 0,
            "audio_packets": int(kinds["audio"]["nb_read_packets"]) if "audio" in kinds else 0,
            "counters": seen, "clock_drift_ms": clock_drift_ms(path, FPS), "first": first_times(path)}


def assert_good_stay(facts: dict[str, Any], *, tolerance: float = 0.5) -> None:
    assert facts["codecs"] == {"video": "vp8", "audio": "opus"}, facts["codecs"]
    assert facts["errors"] == "", facts["errors"]
    assert abs(facts["duration"] - facts["present"]) < tolerance, (facts["duration"], facts["present"])
    assert abs(facts["video_packets"] - facts["duration"] * FPS) < 0.1 * facts["duration"] * FPS, facts
    assert abs(facts["audio_packets"] - facts["duration"] * 50) < 0.1 * facts["duration"] * 50, facts
    seen = facts["counters"]
    assert len(seen) == facts["video_packets"]
    assert all(b > a for a, b in zip(seen, seen[1:])), "the drawn counters must come out in order"
    assert seen[-1] - seen[0] + 1 - len(seen) <= 0.05 * len(seen), "at most a few frames lost on the way"
    # video follows the publisher's frame clock (RTP time, not arrival jitter) ...
    assert facts["clock_drift_ms"] < 30, facts["clock_drift_ms"]
    # ... and starts with the audio, at the first keyframe after the recorder's PLI
    assert abs(facts["first"]["video"] - facts["first"]["audio"]) < 0.5, facts["first"]


@needs_netns
def test_every_stay_is_one_webm_with_vp8_and_opus_as_long_as_its_member_was_there(
        meeting: tuple[dict[str, Any], Path]) -> None:
    result, directory = meeting
    files = result["files"]
    assert sorted(f["user_id"] for f in files) == sorted(result["present"])
    for file in files:
        path = local(directory, file["key"])
        assert path.stat().st_size == file["size"]
        facts = check_stay(path, result["present"][file["user_id"]])
        assert_good_stay(facts)
        assert abs(file["duration_s"] - facts["duration"]) < 0.05
    assert result["stats"]["gaps"] == 0 and result["stats"]["open_stays"] == 2 and result["stats"]["frames"] > 0


@needs_netns
def test_nothing_of_the_stream_is_left_but_the_files_and_their_facts(meeting: tuple[dict[str, Any], Path]) -> None:
    result, directory = meeting
    left = sorted(str(p.relative_to(directory / "objects")) for p in (directory / "objects").rglob("*") if p.is_file())
    assert [k for k in left if "/c0" in k] == []  # chunks are deleted once the file is made
    assert sorted(k for k in left if k.endswith(".webm")) == sorted(f["key"] for f in result["files"])


@needs_netns
def test_the_processed_meeting_file_plays_and_holds_every_video(meeting: tuple[dict[str, Any], Path],
                                                                tmp_path: Path) -> None:
    import datetime as dt

    from adapters.ffmpeg.processor import FfmpegRecordingProcessor
    from domain.recordings.media import RecordedFile
    from adapters.localfs.blobs import LocalDirectoryBlobStore
    from tests.support.encoded import decode_errors, probe, streams, tile_counters

    result, directory = meeting
    files = [RecordedFile(key=f["key"], user_id=f["user_id"], content_type="video/webm", size=f["size"],
                          duration_s=f["duration_s"], started_at=dt.datetime.fromisoformat(f["started_at"]),
                          ended_at=dt.datetime.fromisoformat(f["ended_at"]), has_video=f["has_video"],
                          has_audio=f["has_audio"]) for f in result["files"]]
    files.sort(key=lambda f: f.started_at)
    blobs = LocalDirectoryBlobStore(directory)

    async def compose() -> RecordedFile:
        async def progress(fraction: float) -> None: ...
        return await FfmpegRecordingProcessor(blobs).compose(files, f"{PREFIX}/meeting.webm", progress)  # type: ignore[arg-type]

    meeting_file = asyncio.run(compose())
    path = local(directory, meeting_file.key)
    info = probe(path)
    assert {k: s["codec_name"] for k, s in streams(info).items()} == {"video": "vp8", "audio": "opus"}
    assert decode_errors(path) == ""
    assert abs(float(info["format"]["duration"]) - max(result["present"].values())) < 1.0
    tiles = tile_counters(path, [(0, 0), (320, 0), (0, 240)])
    for index in range(3):
        shown = [values[index] for _, values in tiles if values[index] is not None]
        assert len(shown) > 3 * FPS, f"tile {index} shows its member's video"
        assert all(b >= a for a, b in zip(shown, shown[1:]))


@needs_netns
def test_after_a_kill_9_recover_makes_playable_files_up_to_the_crash_minus_the_upload_interval(
        tmp_path: Path) -> None:
    result, _ = run_module(MODULE, "crash", str(tmp_path), timeout=240)
    files = result["files"]
    assert len(files) == 2 and result["files_again"] == files  # recover is idempotent
    for file in files:
        facts = check_stay(local(tmp_path, file["key"]), result["recorded_s"])
        lost = result["recorded_s"] - facts["duration"]
        assert -0.5 < lost <= UPLOAD_INTERVAL + 1.5, lost  # an upload interval plus the open cluster
        facts["present"] = facts["duration"]  # what was kept is checked like a finished stay
        assert_good_stay(facts)


@needs_netns
def test_a_member_who_restarts_its_connection_mid_recording_stays_in_one_file(tmp_path: Path) -> None:
    from tests.support.encoded import counters, decode_errors, probe, streams

    result, _ = run_module(MODULE, "restart", str(tmp_path), timeout=240)
    files = result["files"]
    assert len(files) == 2, files  # one stay each: the restart is no departure
    ann = next(f for f in files if f["user_id"] == result["ann"])
    path = local(tmp_path, ann["key"])
    assert {k: s["codec_name"] for k, s in streams(probe(path)).items()} == {"video": "vp8", "audio": "opus"}
    assert decode_errors(path) == ""
    seen = counters(path)
    assert all(b > a for a, b in zip(seen, seen[1:])), "the drawn counters must come out in order"
    assert seen[0] < result["counter_at_restart"] < seen[-1], (seen[0], result["counter_at_restart"], seen[-1])
    # the file spans the whole recording: the restart's pause is a gap in it, not its end
    assert abs(ann["duration_s"] - result["present_s"]) < 1.0, (ann["duration_s"], result["present_s"])


if __name__ == "__main__":
    allow_loopback_candidates()
    scenario = {"meeting": scenario_meeting, "crash": scenario_crash, "restart": scenario_restart}[sys.argv[1]]
    emit_result(asyncio.run(scenario(Path(sys.argv[2]))))
