"""The SFU in rooms that change a lot and rooms that are large (issue 16), with aiortc members.

Each scenario runs under ``unshare -n`` (``python -m tests.integration.test_sfu_large_rooms SCENARIO``)
with the SFU in the same process as its members (tests/support/sfu_room.py); the tests read the
child's RESULT line.

- ``churn``: a member stays for 40 others who each join (camera + microphone), are seen and heard by
  it, and leave. Retired m-lines are re-used, so its SDP stops growing after the first visitor; each
  forwarded audio packet carries the visitor's ssrc-audio-level.
- ``last_n``: 20 members with cameras, last-N 4: each gets the cameras of the 4 most recent active
  speakers (and its pins), the others' m-lines stay negotiated and idle; a new speaker changes who is
  seen without any renegotiation. One of them (m7, ``IMPAIRED``) reaches the SFU only through a UDP relay
  (tests/support/udp_relay.py) that drops 5 % of the packets each way (seeded) and delays them 80 ms
  (+ up to 10 ms): it decodes what it gets, and the scenario measures it (and the others) once more
  before anyone speaks (``impaired``). What is asserted: its media crosses the relay both ways and
  nothing bypasses it; it hears every speaker and still decodes camera frames at the start and at the
  end of the look; the others keep theirs. Not asserted (reported): that each of its 4 cameras keeps
  going. aiortc's receiver NACKs a gap once and never again, and its jitter buffer holds everything
  behind an unrepaired gap (128 packets: ~25 s of a 5 fps 1-packet stream) before it asks for a
  keyframe, so a lost NACK or retransmission stalls that camera in this client; and the room's one event
  loop lets the kernel drop thousands of datagrams for full socket buffers on a loaded machine
  (``udp_rcvbuf_errors``), which the relay does not see.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import pytest

from tests.support.netns import allow_loopback_candidates, emit_result, require_unshare, run_module

MODULE = "tests.integration.test_sfu_large_rooms"
FPS = 10
LAST_N_FPS = 5  # 20 encoders, the SFU and 20 receivers share one process here
MEMBERS, SPEAKERS, LAST_N = int(os.environ.get("LAST_N_MEMBERS", "20")), 5, 4
VISITORS = int(os.environ.get("CHURN_VISITORS", "40"))
IMPAIRED = 7
LOSS, DELAY, JITTER = (float(os.environ.get(f"IMPAIRED_{k}", v)) for k, v in (("LOSS", 0.05), ("DELAY", 0.080),
                                                                                ("JITTER", 0.010)))
VIA_RELAY = os.environ.get("IMPAIRED_VIA", "1") == "1"
WINDOWS, WINDOW = 3, 1.5  # the impaired member's last look: 3 windows of 1.5 s


@pytest.fixture
def netns_capable() -> None:
    require_unshare()


needs_netns = pytest.mark.usefixtures("netns_capable")
pytestmark = pytest.mark.timeout(900)  # the 20-member room needs minutes on a busy 2-core machine


async def wait_for(check: Any, what: str, timeout: float = 20.0, debug: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: {debug() if debug else ''}")
        await asyncio.sleep(0.05)


# --- scenarios: run only inside the private namespace ---------------------------------------------

async def scenario_churn() -> dict[str, Any]:
    from tests.support.sfu_room import Room, ToneTrack, small_video

    room = Room()
    try:
        stayer = await room.join("stayer", ToneTrack())
        host = await room.join("host", ToneTrack(), small_video(FPS))
        await wait_for(lambda: len(stayer.video_from(host)) >= 3, "stayer sees the host")
        started = time.monotonic()
        sizes, seen, levels = [], [], []
        for i in range(VISITORS):
            visitor = await room.join(f"visitor{i}", ToneTrack(loud=True), small_video(FPS))
            await wait_for(lambda: len(stayer.video_from(visitor)) >= 3
                           and len(stayer.audio_levels.get(f"{visitor.user_id}-audio", [])) >= 10,
                           f"stayer gets visitor {i}", debug=lambda: debug_member(room, stayer))
            await stayer.settled()
            seen.append(len(stayer.video_from(visitor)))
            levels.append(stayer.audio_levels[f"{visitor.user_id}-audio"][-10:])
            sizes.append(stayer.offer_size())
            await room.leave(visitor)
            await stayer.settled()
        since = time.monotonic()
        await asyncio.sleep(1.0)
        peer = room.sfu.rooms[room_id()].peers[stayer.user_id]
        return {"sizes": sizes, "seen": seen, "visitor_levels": levels,
                "host_levels": stayer.audio_levels[f"{host.user_id}-audio"][-10:],
                "host_counters": [f[0] for f in stayer.video_from(host)],
                "host_frames_last_second": len(stayer.video_from(host, since)),
                "churn_seconds": time.monotonic() - started,
                "transceivers": len(stayer.pc.getTransceivers()), "sections_reused": peer.sections_reused}
    finally:
        await room.close()


async def scenario_last_n() -> dict[str, Any]:
    import aioice.ice

    from tests.support.sfu_room import Room, ToneTrack, small_video

    # 20 aiortc clients and the SFU share one event loop here, and 20 joins make ~190 renegotiations:
    # on a busy 2-core machine the loop then answers STUN consent checks later than aioice's 0.5 s
    # (no retransmission) six times running, and connections drop after 30 s. Not what is tested.
    aioice.ice.CONSENT_FAILURES = 1000

    from tests.support.udp_relay import UdpRelay

    room = Room(last_n=LAST_N, max_sections=64)
    # Last-N alone decides here: with 20 aiortc members in one process on a busy machine, their
    # receivers lose packets when the loop stalls, and the bandwidth estimate (13.11) would
    # rightly pause some cameras, which is not what this scenario checks (test_sfu_bandwidth does).
    room.sfu.bandwidth = None
    relay = await UdpRelay(loss=LOSS, delay=DELAY, jitter=JITTER, seed=16).start()
    lag = asyncio.ensure_future(watch_lag()) if os.environ.get("SFU_DEBUG") else None
    try:
        tones = [ToneTrack() for _ in range(SPEAKERS)]
        members = [await room.join(f"m{i}", *([tones[i]] if i < SPEAKERS else []), small_video(LAST_N_FPS),
                                   decode=i == IMPAIRED, via=relay if i == IMPAIRED and VIA_RELAY else None)
                   for i in range(MEMBERS)]
        for m in members:
            await m.settled(60)
        names = {m.user_id: m.name for m in members}
        offers = {m.name: m.sfu_offers for m in members}
        result: dict[str, Any] = {"before_speaking": await seen_by_each(members, names)}
        result["sfu_forwards_before"] = forwards(room, members, names)
        result["impaired"] = await watch_impaired(room, members, names, relay)
        watcher, pinned = members[-1], members[MEMBERS // 2]
        await watcher.prefer(2, [pinned.user_id])
        for i, tone in enumerate(tones):
            tone.loud = True
            await wait_for(lambda: room.signals.speakers[-1:] == [members[i].user_id], f"m{i} announced", 120,
                           debug=lambda: speaker_debug(room, members))
            tone.loud = False
        result["speakers"] = [names[u] for u in room.signals.speakers]
        if os.environ.get("SFU_DEBUG"):
            sfu_room = room.sfu.rooms[room_id()]
            result["debug_in_before"] = {m.name: sfu_room.peers[m.user_id].published["video"].frames_in
                                         for m in members}
            result["debug_sent_before"] = {f"{names[k[0]]}/{k[1]}": s.track.frames_sent for k, s in
                                           sfu_room.peers[members[5].user_id].subscriptions.items()}
        result["after_speaking"] = await seen_by_each(members, names)
        sfu_room = room.sfu.rooms[room_id()]
        # what the SFU forwards now (paused m-lines excluded); the members' own counts follow it only
        # loosely on a loaded machine (a resumed camera waits for a keyframe the publisher sends late)
        result["sfu_forwards"] = forwards(room, members, names)
        result["speaker_order"] = [names[u] for u in sfu_room.speaker_order()]
        if os.environ.get("SFU_DEBUG"):
            peer = sfu_room.peers[members[5].user_id]
            result["debug_m5"] = {f"{names[k[0]]}/{k[1]}": (s.active, s.track.paused, s.track.frames_sent,
                                                              s.track.frames_dropped, s.track._need_keyframe)
                                  for k, s in peer.subscriptions.items() if k[1] == "video"}
            result["debug_in"] = {m.name: sfu_room.peers[m.user_id].published["video"].frames_in for m in members}
        result["offers_while_speaking"] = {m.name: m.sfu_offers - offers[m.name] for m in members}
        result["m_lines"] = {m.name: len(m.pc.getTransceivers()) for m in members}
        return result
    finally:
        if lag is not None:
            lag.cancel()
        await room.close()
        relay.close()


def between(frames: list[tuple[int, int, float]], start: float, end: float) -> list[tuple[int, int, float]]:
    return [f for f in frames if start <= f[2] < end]


def udp_errors() -> int:
    """RcvbufErrors of this network namespace (/proc/net/snmp)."""
    with open("/proc/net/snmp") as snmp:
        names, values = [line.split() for line in snmp if line.startswith("Udp:")][:2]
    return int(values[names.index("RcvbufErrors")])


def nominated_remote(pc: Any) -> list[list[Any]]:
    """The remote addresses of the ICE pairs the connection uses (below aiortc: tests may)."""
    connection = pc.getTransceivers()[0].receiver.transport.transport._connection
    return [list(pair.remote_addr) for pair in connection._nominated.values()]


async def watch_impaired(room: Any, members: list[Any], names: dict[Any, str], relay: Any) -> dict[str, Any]:
    """The impaired member in WINDOWS windows: camera frames decoded per window, audio frames and
    packets, its NACKs/PLIs/RTX, the relay's counts before and after; the others' camera frames over
    the same time; and where each side of the impaired connection sends."""
    impaired = members[IMPAIRED]
    cameras = [o for o in members if o.user_id in room.sfu.rooms[room_id()].peers[impaired.user_id]
               .forwarding_video_from()]
    speakers = members[:SPEAKERS]
    start, relay_before, udp_before = time.monotonic(), relay.report(), udp_errors()
    feedback_before = {**impaired.rtcp_sent, "rtx": impaired.rtx_received}
    audio_before = {s.name: impaired.audio_frames.get(f"{s.user_id}-audio", 0) for s in speakers}
    packets_before = {s.name: len(impaired.audio_levels.get(f"{s.user_id}-audio", [])) for s in speakers}
    edges = [start]
    for _ in range(WINDOWS):
        await asyncio.sleep(WINDOW)
        edges.append(time.monotonic())
    windows = [{o.name: len(between(impaired.video_from(o), a, b)) for o in cameras}
               for a, b in zip(edges, edges[1:])]
    seconds = edges[-1] - start
    frames = {o.name: [f[0] for f in between(impaired.video_from(o), start, edges[-1])] for o in cameras}
    sfu_peer = room.sfu.rooms[room_id()].peers[impaired.user_id]
    others = {m.name: {names[u]: len(between(m.video_from(next(o for o in members if o.user_id == u)), start,
                                             edges[-1]))
                       for u in room.sfu.rooms[room_id()].peers[m.user_id].forwarding_video_from()}
              for m in members if m is not impaired}
    return {
        "seconds": seconds, "cameras": sorted(o.name for o in cameras), "windows": windows,
        "counters": frames, "delays_ms": {o.name: sorted(f[1] for f in between(impaired.video_from(o), start,
                                                                                   edges[-1])) for o in cameras},
        "audio_frames": {s.name: impaired.audio_frames.get(f"{s.user_id}-audio", 0) - audio_before[s.name]
                         for s in speakers},
        "audio_packets": {s.name: len(impaired.audio_levels.get(f"{s.user_id}-audio", [])) - packets_before[s.name]
                          for s in speakers},
        "feedback_total": {**impaired.rtcp_sent, "rtx": impaired.rtx_received},
        "feedback_in_windows": {k: v - feedback_before[k] for k, v in
                                {**impaired.rtcp_sent, "rtx": impaired.rtx_received}.items()},
        "relay_before": relay_before, "relay_after": relay.report(),
        "relay_client_side": list(relay.client_side), "relay_server_side": list(relay.server_side),
        "relay_saw_client": list(relay.client or ()), "relay_upstream": list(relay.upstream or ()),
        "member_sends_to": nominated_remote(impaired.pc), "sfu_sends_to": nominated_remote(sfu_peer.pc),
        "others": others, "video_packets": impaired.video_packets,
        # datagrams the kernel dropped in this namespace for a full receive buffer (a late event loop)
        "udp_rcvbuf_errors": {"before": udp_before, "after": udp_errors()},
        "sfu_to_impaired": {names[k[0]]: {"sent": sub.track.frames_sent, "dropped": sub.track.frames_dropped,
                                          "waiting": sub.track.waiting_for_keyframe, "paused": sub.track.paused}
                            for k, sub in sfu_peer.subscriptions.items() if k[1] == "video" and sub.active},
    }


async def watch_lag() -> None:
    start = time.monotonic()
    while True:
        before = time.monotonic()
        await asyncio.sleep(0.1)
        late = time.monotonic() - before - 0.1
        if late > 0.2:
            print(f"{time.monotonic() - start:.1f}s loop lag {late:.2f}s", file=sys.stderr, flush=True)


def forwards(room: Any, members: list[Any], names: dict[Any, str]) -> dict[str, list[str]]:
    """Per member: whose cameras the SFU forwards it now (paused m-lines excluded)."""
    peers = room.sfu.rooms[room_id()].peers
    return {m.name: sorted(names[u] for u in peers[m.user_id].forwarding_video_from()) for m in members}


async def seen_by_each(members: list[Any], names: dict[Any, str]) -> dict[str, dict[str, int]]:
    """Per member: whose camera frames it decoded during 2 s, one second after the last change."""
    await asyncio.sleep(1.0)
    since = time.monotonic()
    await asyncio.sleep(2.0)
    return {m.name: {names[o.user_id]: n for o in members if o is not m and (n := len(m.video_from(o, since)))}
            for m in members}


def speaker_debug(room: Any, members: list[Any]) -> Any:
    sfu_room = room.sfu.rooms[room_id()]
    now = time.monotonic()
    return {"scores": {m.name: sfu_room.speaker.score(m.user_id, now) for m in members[:SPEAKERS]},
            "announced": room.signals.speakers, "speaker": sfu_room.speaker.speaker,
            "levels_m1_from_m0": member_levels(members[1], members[0]),
            "m0_in": {k: (p.frames_in, p.closed) for k, p in sfu_room.peers[members[0].user_id].published.items()},
            "m0": (members[0].pc.connectionState, [(t.kind, t.currentDirection, t.sender.track)
                                                   for t in members[0].pc.getTransceivers()][:2])}


def member_levels(member: Any, other: Any) -> Any:
    return member.audio_levels.get(f"{other.user_id}-audio", [])[-5:]


def debug_member(room: Any, member: Any) -> Any:
    peer = room.sfu.rooms[room_id()].peers[member.user_id]
    return {"video": {k: len(v) for k, v in member.video.items()},
            "levels": {k: len(v) for k, v in member.audio_levels.items()},
            "subs": {str(k): (s.active, s.track.paused, s.track.frames_sent, s.transceiver.direction,
                              s.transceiver.currentDirection) for k, s in peer.subscriptions.items()},
            "member": [(t.mid, t.direction, t.currentDirection) for t in member.pc.getTransceivers()]}


def room_id() -> Any:
    from tests.support.sfu_room import ROOM

    return ROOM


# --- tests -----------------------------------------------------------------------------------------

def in_order(counters: list[int]) -> bool:
    return all(b == a + 1 for a, b in zip(counters, counters[1:]))


@pytest.fixture(scope="module")
def churn() -> dict[str, Any]:
    result, _ = run_module(MODULE, "churn", timeout=400)
    return result


@needs_netns
def test_forty_visitors_later_the_sdp_is_as_big_as_after_the_first_and_every_visitor_was_seen(
        churn: dict[str, Any]) -> None:
    sizes = churn["sizes"]
    assert len(sizes) == VISITORS and all(n >= 3 for n in churn["seen"])
    assert {m_lines for _, m_lines in sizes} == {sizes[0][1]}  # own audio + host's 2 + one visitor's 2
    assert sizes[0][1] == 5
    assert max(chars for chars, _ in sizes) < sizes[0][0] * 1.1  # msids differ in length a little
    assert churn["transceivers"] == 5 and churn["sections_reused"] == 2 * (VISITORS - 1)


@needs_netns
def test_the_hosts_stream_runs_in_order_through_every_renegotiation(churn: dict[str, Any]) -> None:
    # Every frame the host sent arrived, in order, and they kept coming for the whole churn (at least half
    # its frame rate: how long 40 visitors take depends on the machine, so the count follows the time).
    assert in_order(churn["host_counters"])
    assert len(churn["host_counters"]) >= churn["churn_seconds"] * FPS / 2, churn["churn_seconds"]
    assert churn["host_frames_last_second"] >= FPS // 2


@needs_netns
def test_forwarded_audio_carries_each_publishers_audio_level(churn: dict[str, Any]) -> None:
    for levels in churn["visitor_levels"]:  # a loud tone: about -12 dBov
        assert levels and all(level is not None and level < 30 for level in levels), levels
    assert churn["host_levels"] and set(churn["host_levels"]) == {127}  # silence


@pytest.fixture(scope="module")
def last_n() -> dict[str, Any]:
    result, _ = run_module(MODULE, "last_n", timeout=400)
    return result


def expected_cameras(me: int, order: list[int], n: int = LAST_N, pins: tuple[int, ...] = ()) -> set[str]:
    others = [i for i in order if i != me]
    chosen = [i for i in others if i in pins]
    chosen += [i for i in others if i not in pins][:max(0, n - len(chosen))]
    return {f"m{i}" for i in chosen}


@needs_netns
def test_in_a_room_of_twenty_each_member_gets_the_cameras_of_the_four_first_comers_before_anyone_speaks(
        last_n: dict[str, Any]) -> None:
    received = 0
    for i in range(MEMBERS):
        want = expected_cameras(i, list(range(MEMBERS)))
        assert set(last_n["sfu_forwards_before"][f"m{i}"]) == want, i
        seen = last_n["before_speaking"][f"m{i}"]  # what arrived in 2 s: a busy machine loses some
        assert set(seen) <= want, (i, seen, want)  # but never a paused camera
        received += len(seen)
    assert received >= MEMBERS * LAST_N // 2, last_n["before_speaking"]


@needs_netns
def test_then_the_sfu_forwards_each_the_four_most_recent_speakers_and_its_pins_without_any_renegotiation(
        last_n: dict[str, Any]) -> None:
    assert last_n["speakers"] == [f"m{i}" for i in range(SPEAKERS)]
    order = [*range(SPEAKERS - 1, -1, -1), *range(SPEAKERS, MEMBERS)]
    assert last_n["speaker_order"] == [f"m{i}" for i in order]
    for i in range(MEMBERS):
        forwarded = set(last_n["sfu_forwards"][f"m{i}"])
        want = expected_cameras(i, order, 2, (MEMBERS // 2,)) if i == MEMBERS - 1 else expected_cameras(i, order)
        assert forwarded == want, (i, forwarded, want)
    assert set(last_n["offers_while_speaking"].values()) == {0}
    # every camera and microphone stays negotiated: own sections + 19 cameras + the others' microphones
    for i in range(MEMBERS):
        own = 2 if i < SPEAKERS else 1
        assert last_n["m_lines"][f"m{i}"] == own + MEMBERS - 1 + SPEAKERS - (1 if i < SPEAKERS else 0)


@needs_netns
def test_the_impaired_members_media_crosses_the_relay_both_ways_and_nothing_bypasses_it(last_n: dict[str, Any]) -> None:
    imp = last_n["impaired"]
    print({k: v for k, v in imp.items() if k not in ("delays_ms", "counters", "others")})
    # Each side knows only the relay's address for the other: the pairs ICE chose end at the relay.
    assert imp["member_sends_to"] == [imp["relay_client_side"]]
    assert imp["sfu_sends_to"] == [imp["relay_server_side"]]
    assert imp["relay_saw_client"] and imp["relay_saw_client"] != imp["relay_upstream"]
    relay = imp["relay_after"]
    assert relay["stray"] == 0
    for direction in ("up", "down"):
        counts, before = relay[direction], imp["relay_before"][direction]
        assert counts["relayed"] > before["relayed"] and counts["dropped"] > 0, (direction, counts)
        assert counts["delayed"] == counts["relayed"] and counts["mean_delay_ms"] >= DELAY * 1000, counts


@needs_netns
def test_through_loss_and_delay_the_impaired_member_still_hears_the_speakers_and_sees_its_last_n_cameras(
        last_n: dict[str, Any]) -> None:
    imp = last_n["impaired"]
    # Datagrams the kernel dropped meanwhile for a full socket buffer (the room's one event loop late on
    # an overloaded machine): not the relay's loss, but it starves everyone; shown with each failure.
    overflow = f"UDP receive-buffer drops in the window: {imp['udp_rcvbuf_errors']}"
    assert imp["cameras"] == sorted(expected_cameras(IMPAIRED, list(range(MEMBERS))))
    assert all(n > 0 for n in imp["audio_frames"].values()), (imp["audio_frames"], overflow)  # each speaker's
    assert any(imp["windows"][0].values()) and any(imp["windows"][-1].values()), (imp["windows"], overflow)
    for counters in imp["counters"].values():
        assert counters == sorted(counters)  # never an older picture after a newer one
    # losses were reported and repaired: NACKs (retransmissions) and/or PLIs (a fresh keyframe)
    assert imp["feedback_total"]["nack"] + imp["feedback_total"]["pli"] > 0, imp["feedback_total"]


@needs_netns
def test_the_others_keep_receiving_their_cameras_meanwhile(last_n: dict[str, Any]) -> None:
    others = last_n["impaired"]["others"]
    assert len(others) == MEMBERS - 1
    overflow = f"UDP receive-buffer drops in the window: {last_n['impaired']['udp_rcvbuf_errors']}"
    assert all(sum(cameras.values()) > 0 for cameras in others.values()), (others, overflow)


if __name__ == "__main__":
    if os.environ.get("SFU_DEBUG"):
        import logging

        logging.basicConfig(level=logging.INFO, format="%(relativeCreated)d %(name)s %(message)s")
        logging.getLogger("aioice").setLevel(logging.WARNING)
        logging.getLogger("aiortc").setLevel(logging.WARNING)
    allow_loopback_candidates()
    emit_result(asyncio.run(globals()[f"scenario_{sys.argv[1]}"]()))
