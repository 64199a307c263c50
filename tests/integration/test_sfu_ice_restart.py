"""ICE restart after a client's network changes (docs/signaling.md 13.12), with aiortc clients.

pytest starts ``python -m tests.integration.test_sfu_ice_restart scenario restart`` under ``unshare -n``
(namespace A): the SFU (an in-process ``AiortcMediaServer``, tests/support/sfu_room.py) and three members
on loopback.  The moving member runs in a namespace of its own (B, ``unshare -n`` again, the ``mover``
mode of this module), joined to A by a veth pair: A's end is 10.77.0.1, B's end 10.77.0.2.  Its
signaling goes over a Unix socket (a filesystem path: no network namespace), so only its media path
changes.  Once media flows both ways, B deletes 10.77.0.2 and adds 10.77.0.3 (the old path is dead) and
restarts at once, as a client that saw the change does: a new peer connection whose offer says
``restart``.  The scenario checks that media from and to the mover comes back, that the others got no
SFU offer (no renegotiation) and that the mover never left the SFU's room, and reports the time from the
address change to media back.  Mode ``replace`` is the old way (a plain offer from a new connection),
for bench/ice_restart.py's baseline.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import pytest

from tests.support.netns import PARENT_NETNS, command, current_netns, emit_result, environment, require_unshare, \
    run_module

MODULE = "tests.integration.test_sfu_ice_restart"
MOVER = "00000000-0000-4000-8000-000000000099"
SFU_ADDRESS, OLD_ADDRESS, NEW_ADDRESS = "10.77.0.1", "10.77.0.2", "10.77.0.3"
OTHERS = ("ann", "bob", "cy")
MEDIA_BACK_TIMEOUT = 20.0


def sh(line: str) -> None:
    subprocess.run(line.split(), check=True, capture_output=True, text=True)


# --- B: the moving member ------------------------------------------------------------------------------

def require_child_netns() -> None:
    """B is a namespace of its own, under A (which is itself private: tests/support/netns.py)."""
    with open("/proc/self/net/dev") as dev:
        names = {line.split(":")[0].strip() for line in dev.readlines()[2:]}
    outer = os.environ.get(PARENT_NETNS)
    if outer is None or outer == current_netns() or not names <= {"lo", "vmove"}:
        raise RuntimeError("the mover must run in its own namespace under the scenario's")


async def mover(path: str) -> None:
    require_child_netns()
    from tests.support.sfu_member import SfuMember

    reader, writer = await asyncio.open_unix_connection(path)

    timeline: list[tuple[str, float]] = []  # the restart's steps at the mover, for the report

    async def send(kind: str, payload: dict[str, Any]) -> None:
        if kind in ("offer", "answer"):
            timeline.append((f"sent {kind}{' (restart)' if payload.get('restart') else ''}", time.monotonic()))
        writer.write((json.dumps({"kind": kind, **payload}) + "\n").encode())
        await writer.drain()

    member = SfuMember(MOVER, send)
    tasks: set[asyncio.Task[Any]] = set()

    async def move(mode: str) -> None:
        changed = time.monotonic()
        timeline.clear()
        timeline.append(("address changed", changed))
        sh(f"ip addr del {OLD_ADDRESS}/24 dev vmove")
        sh(f"ip addr add {NEW_ADDRESS}/24 dev vmove")
        await send("moved", {"changed": changed})
        if mode == "restart":
            await member.restart()
        else:
            await member.reset()  # the old way: a plain offer from a new connection replaces the old one
        timeline.append(("new connection connected", time.monotonic()))

    async def join() -> None:
        await member.join()
        await send("joined", {})

    await send("hello", {})
    while line := await reader.readline():
        message = json.loads(line)
        kind = message.pop("kind")
        if kind == "link":
            sh(f"ip addr add {OLD_ADDRESS}/24 dev vmove")
            sh("ip link set vmove up")
            task = asyncio.ensure_future(join())
        elif kind == "move":
            task = asyncio.ensure_future(move(message["mode"]))
        elif kind == "status":
            await send("status", {"generation": member.generation, "timeline": timeline, "video_starts": {
                str(g): starts for g, starts in member.video_starts.items()},
                "frames": {str(g): f for g, f in member.frames.items()}})
            continue
        elif kind == "stop":
            break
        else:
            if kind in ("offer", "answer"):
                timeline.append((f"got SFU {kind}", time.monotonic()))
            member.on_signal(kind, message)
            continue
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await member.close()
    writer.close()


# --- A: the SFU, the others and the scenario -----------------------------------------------------------

class MoverLink:
    """The mover as the in-process SFU's Signals see it: its frames go over the Unix socket."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.sfu_offers = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def on_signal(self, kind: str, payload: dict[str, Any]) -> None:
        self.sfu_offers += kind == "offer"
        self.send(kind, payload)

    def send(self, kind: str, payload: dict[str, Any] | None = None) -> None:
        self.writer.write((json.dumps({"kind": kind, **(payload or {})}) + "\n").encode())

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()


class Watcher:
    """What the recorder and captions are told (adapters/webrtc/sfu.py MediaWatcher)."""

    def __init__(self) -> None:
        self.left: list[str] = []
        self.published: list[str] = []
        self.continued: list[tuple[str, str, bool]] = []  # (user, label, the old track is the one it saw)
        self.tracks: dict[tuple[str, str], Any] = {}  # (user, label) -> the latest track it was given

    def track_published(self, room_id: Any, user_id: Any, track: Any) -> None:
        self.published.append(user_id)
        self.tracks[(user_id, track.label)] = track

    def track_continued(self, room_id: Any, user_id: Any, previous: Any, track: Any) -> None:
        self.continued.append((user_id, track.label, self.tracks.get((user_id, track.label)) is previous))
        self.tracks[(user_id, track.label)] = track

    def member_left(self, room_id: Any, user_id: Any) -> None:
        self.left.append(user_id)


def new_frames(frames: list[tuple[int, int, float]], changed: float) -> list[float]:
    """Arrival times of the frames captured after the address change (so sent on the new connection: the
    old path is dead), by the capture time each frame's marks carry (tests/support/webrtc_rig.py)."""
    return [arrival for _, delay_ms, arrival in frames if arrival - delay_ms / 1000 > changed]


async def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.02)


async def scenario(mode: str) -> dict[str, Any]:
    from adapters.webrtc.aiortc_internals import use_host_addresses
    from domain.shared.ids import UserId
    from tests.support.netns import allow_loopback_candidates
    from tests.support.sfu_room import ROOM, Room, ToneTrack, small_video

    allow_loopback_candidates()
    room = Room()  # checks the namespace is private before the veth pair exists
    watcher = Watcher()
    room.sfu.watchers.append(watcher)
    sh("ip link add vsfu type veth peer name vmove")
    sh(f"ip addr add {SFU_ADDRESS}/24 dev vsfu")
    sh("ip link set vsfu up")
    use_host_addresses(["127.0.0.1", SFU_ADDRESS])  # the others on loopback, the mover over the veth pair
    others = [await room.join(name, ToneTrack(), small_video(15)) for name in OTHERS]
    mover_id = UserId(MOVER)

    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    links: list[MoverLink] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = MoverLink(writer)
        links.append(link)
        room.signals.members[mover_id] = link  # type: ignore[assignment]
        while line := await reader.readline():
            message = json.loads(line)
            kind = message.pop("kind")
            if kind in ("offer", "answer", "ice_candidate"):
                await room.sfu.signal(ROOM, mover_id, kind, message)
            else:
                await inbox.put({"kind": kind, **message})

    async def next_from_mover(kind: str, timeout: float = 20.0) -> dict[str, Any]:
        while True:
            message = await asyncio.wait_for(inbox.get(), timeout)
            if message["kind"] == kind:
                return message

    path = os.path.join(tempfile.mkdtemp(prefix="icerestart-"), "signal.sock")
    server = await asyncio.start_unix_server(serve, path)
    child = await asyncio.create_subprocess_exec(*command(MODULE, "mover", path), env=environment())
    try:
        await next_from_mover("hello")  # B exists: its end of the pair goes there
        sh(f"ip link set vmove netns {child.pid}")
        links[0].send("link")
        await next_from_mover("joined")

        async def status() -> dict[str, Any]:
            links[0].send("status")
            return await next_from_mover("status")

        async def flowing() -> bool:
            mine = await status()
            starts = mine["video_starts"].get(str(mine["generation"]), [])
            return len(starts) == len(others) and all(len(o.video.get(f"{MOVER}-video", [])) >= 10 for o in others)

        await wait_for(flowing, 20.0, "media never flowed both ways before the move")
        for other in others:
            await other.settled()
        offers_before = [o.sfu_offers for o in others]
        lines_before = [len(o.pc.getTransceivers()) for o in others]
        left_before, published_before = len(watcher.left), len(watcher.published)
        absent = 0
        sampling = True

        async def sample() -> None:
            nonlocal absent
            while sampling:
                current = room.sfu.rooms.get(ROOM)
                absent += current is None or mover_id not in current.peers
                await asyncio.sleep(0.005)

        sampler = asyncio.ensure_future(sample())
        links[0].send("move", {"mode": mode})
        changed = (await next_from_mover("moved"))["changed"]

        async def back() -> bool:
            mine = await status()
            starts = mine["video_starts"].get(str(mine["generation"]), [])
            return mine["generation"] == 2 and len(starts) == len(others) and all(
                new_frames(o.video.get(f"{MOVER}-video", []), changed) for o in others)

        try:
            await wait_for(back, MEDIA_BACK_TIMEOUT, "media did not come back after the move")
        except TimeoutError:
            sampling = False
            mine = await status()
            raise TimeoutError(
                f"media did not come back after the move: at the mover {mine['timeline']}, video tracks "
                f"{mine['video_starts']}; the others' new frames of the mover "
                f"{[len(new_frames(o.video.get(f'{MOVER}-video', []), changed)) for o in others]}") from None
        await asyncio.sleep(1.0)  # anything late (an SFU offer to the others) shows up meanwhile
        sampling = False
        await sampler
        mine = await status()
        from_mover = [min(new_frames(o.video.get(f"{MOVER}-video", []), changed)) - changed for o in others]
        to_mover = sorted(mine["video_starts"]["2"])[-1] - changed
        frames_after = [len(new_frames(o.video.get(f"{MOVER}-video", []), changed)) for o in others]
        sfu_room = room.sfu.rooms[ROOM]
        result = {
            "mode": mode,
            "media_back_s": round(max(*from_mover, to_mover), 3),
            "from_mover_s": [round(t, 3) for t in from_mover],
            "to_mover_s": round(to_mover, 3),
            "first_video_to_mover_s": round(sorted(mine["video_starts"]["2"])[0] - changed, 3),
            "others_sfu_offers_during": [o.sfu_offers - b for o, b in zip(others, offers_before)],
            "others_m_lines": [lines_before, [len(o.pc.getTransceivers()) for o in others]],
            "mover_absent_samples": absent,
            "watcher_member_left": len(watcher.left) - left_before,
            "watcher_published": len(watcher.published) - published_before,
            "watcher_continued": sorted(watcher.continued),
            "restarts": sfu_room.restarts,
            "mover_sfu_offers": links[0].sfu_offers,
            "frames_from_mover_after": frames_after,
            "frames_to_mover_after": mine["frames"].get("2", {}),
            "members": sorted(sfu_room.peers),
            "mover_timeline": [(step, round(at - changed, 3)) for step, at in mine["timeline"]]
            + [(f"video track {i + 1} at the mover", round(at - changed, 3))
               for i, at in enumerate(sorted(mine["video_starts"]["2"]))],
        }
        links[0].send("stop")
        await asyncio.wait_for(child.wait(), 10)
        return result
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        server.close()
        for link in links:
            await link.close()
        await room.close()


# --- pytest ---------------------------------------------------------------------------------------

@pytest.fixture
def netns_capable() -> None:
    require_unshare()


@pytest.mark.usefixtures("netns_capable")
def test_ice_restart_after_moving_a_client_to_a_new_address_keeps_everyone_else_as_they_were() -> None:
    result, output = run_module(MODULE, "scenario", "restart", timeout=90)
    print(f"ICE restart: media back {result['media_back_s']} s after the address change "
          f"(from the mover {result['from_mover_s']}, to the mover {result['to_mover_s']}); "
          f"steps at the mover: {result['mover_timeline']}")
    assert result["restarts"] == 1, result
    assert all(n > 0 for n in result["frames_from_mover_after"]), result  # the others see the mover again
    assert result["frames_to_mover_after"].get("video", 0) > 0, result  # and it sees them
    assert result["others_sfu_offers_during"] == [0, 0, 0], result  # nobody else renegotiated
    assert result["others_m_lines"][0] == result["others_m_lines"][1], result
    assert result["mover_absent_samples"] == 0, result  # never out of the SFU's room
    # the recorder and captions see the mover's tracks go on (one file, one caption stream), not a departure
    assert result["watcher_member_left"] == 0 and result["watcher_published"] == 0, result
    assert result["watcher_continued"] == [[MOVER, "audio", True], [MOVER, "video", True]], result
    assert MOVER in result["members"] and len(result["members"]) == 4, result


if __name__ == "__main__":
    if sys.argv[1] == "mover":
        asyncio.run(mover(sys.argv[2]))
    else:
        emit_result(asyncio.run(scenario(sys.argv[2])))
