"""A member removed (kicked, left: ``remove``) or its room closed while its ICE restart (docs/signaling.md
13.12) is being applied, with aiortc members in a private network namespace.

pytest runs ``python -m tests.integration.test_sfu_restart_race <removal> <when>`` under ``unshare -n``:
an in-process SFU (tests/support/sfu_room.py), ann and bob publishing and receiving, and cy, who
publishes too and then offers a restart from a new connection.  The restart and the removal start
together (an ``asyncio.Barrier``); with ``when`` = ``mid_restart`` the removal then waits until the SFU
has begun applying the restart offer: the window in which the new connection is not the member's yet.
(A removal that reaches the SFU before the restart offer makes it a plain first offer, 13.12: that a
removed member's offer never gets there is the signaling's part, tests/unit/test_room_media_routing.py.)  Whatever the order, cy must end up gone: no peer
and no restart left in the room, every connection and published track of cy closed, no subscription
to cy in ann's or bob's connection, and the watchers (the recorder, captions) told cy left and nothing
of cy after that.  ``restart_again`` races a second restart against the first instead: the later one
wins, and cy keeps exactly one connection, the latest, with the others' m-lines on its tracks.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from tests.support.netns import emit_result, require_unshare, run_module

MODULE = "tests.integration.test_sfu_restart_race"


class Watcher:
    """The order of what the recorder and captions are told about each member."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def track_published(self, room_id: Any, user_id: Any, track: Any) -> None:
        self.events.append(("published", user_id))

    def track_continued(self, room_id: Any, user_id: Any, previous: Any, track: Any) -> None:
        self.events.append(("continued", user_id))

    def member_left(self, room_id: Any, user_id: Any) -> None:
        self.events.append(("left", user_id))


async def scenario(removal: str, when: str) -> dict[str, Any]:
    from aiortc import RTCConfiguration, RTCPeerConnection
    from aiortc.rtcconfiguration import RTCBundlePolicy

    from adapters.webrtc import sfu as sfu_module
    from domain.rooms.errors import InvalidSignal
    from tests.support.netns import allow_loopback_candidates
    from tests.support.sfu_room import ROOM, Room, ToneTrack, small_video
    from tests.support.webrtc_rig import connected

    allow_loopback_candidates()
    peers: list[Any] = []  # every SfuPeer the SFU made
    restart_applying = asyncio.Event()

    class Recorded(sfu_module.SfuPeer):  # type: ignore[misc,name-defined]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            peers.append(self)

        async def accept_offer(self, sdp: str) -> None:
            if sum(p.user_id == self.user_id for p in peers) > 1:
                restart_applying.set()  # a second connection of the member: the restart's
            await super().accept_offer(sdp)

    sfu_module.SfuPeer = Recorded  # type: ignore[attr-defined,misc]
    room = Room()
    watcher = Watcher()
    room.sfu.watchers.append(watcher)
    ann, bob, cy = [await room.join(name, ToneTrack(), small_video(15)) for name in ("ann", "bob", "cy")]
    for member in (ann, bob, cy):
        await connected(member.pc)
    for member in (ann, bob, cy):
        await member.settled()
    await room.sfu.signal(ROOM, cy.user_id, "media_preferences", {"last_n": 1})

    async def restart_offer() -> Any:
        """cy's restart: a new connection with new tracks (aiortc ends a sender's track with its connection)."""
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        for track in (ToneTrack(), small_video(15)):
            pc.addTransceiver(track, direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        return pc

    pc, again = await restart_offer(), await restart_offer()
    barrier = asyncio.Barrier(2)
    outcome: dict[str, Any] = {}

    async def restart() -> None:
        await barrier.wait()
        try:
            await room.sfu.signal(ROOM, cy.user_id, "offer", {"sdp": pc.localDescription.sdp, "restart": True})
            outcome["restart"] = "answered"
        except InvalidSignal as err:
            outcome["restart"] = f"refused: {err}"

    async def remove() -> None:
        await barrier.wait()
        if when == "mid_restart":
            await restart_applying.wait()
        outcome["restart_in_flight_at_removal"] = restart_applying.is_set() and "restart" not in outcome
        if removal == "close_room":
            await room.sfu.close_room(ROOM)
        elif removal == "restart_again":  # not a removal: a second restart overtakes the first
            await room.sfu.signal(ROOM, cy.user_id, "offer", {"sdp": again.localDescription.sdp, "restart": True})
        else:
            await room.sfu.remove(ROOM, cy.user_id)

    await asyncio.gather(restart(), remove())
    sfu_room = room.sfu.rooms.get(ROOM)
    if sfu_room is not None:
        for member in (ann, bob):
            await member.settled()
    mine = [p for p in peers if p.user_id == cy.user_id]
    cy_events = [kind for kind, user in watcher.events if user == cy.user_id]
    result = {
        "outcome": outcome,
        "cy_connections": len(mine),
        "cy_in_room": sfu_room is not None and cy.user_id in sfu_room.peers,
        "cy_restarting": sfu_room is not None and cy.user_id in getattr(sfu_room, "restarting", {}),
        "room_open": sfu_room is not None,
        "cy_connections_open": [i for i, p in enumerate(mine) if not p.closed or p.pc.connectionState != "closed"],
        "cy_tracks_open": [(i, label) for i, p in enumerate(mine) for label, t in p.published.items() if not t.closed],
        "cy_events": cy_events,
        "subscriptions_to_closed_tracks": sorted(
            str(k) for m in (ann, bob) for k, s in room.sfu.rooms[ROOM].peers[m.user_id].subscriptions.items()
            if s.active and s.source.closed) if sfu_room is not None else [],
        "subscriptions_to_cy": {m.name: sorted(str(k) for k, s in room.sfu.rooms[ROOM].peers[m.user_id].subscriptions.items()
                                               if s.active and s.publisher_id == cy.user_id)
                                for m in (ann, bob)} if sfu_room is not None else {},
        "watcher_cy_after_leaving": cy_events[cy_events.index("left") + 1:] if "left" in cy_events else None,
        "cy_preferences": (ROOM, cy.user_id) in room.sfu.preferences,
        "others_in_room": sorted(sfu_room.peers) == sorted([ann.user_id, bob.user_id]) if sfu_room is not None else None,
    }
    for connection in (pc, again):
        await connection.close()
    await room.close()
    return result


@pytest.fixture
def netns_capable() -> None:
    require_unshare()


@pytest.mark.usefixtures("netns_capable")
@pytest.mark.parametrize(("removal", "when"), [("remove", "mid_restart"), ("close_room", "mid_restart")])
def test_a_removal_racing_a_restart_leaves_the_member_gone_and_nothing_behind(removal: str, when: str) -> None:
    result, _ = run_module(MODULE, removal, when, timeout=90)
    assert result["outcome"]["restart_in_flight_at_removal"], result  # the window under test was hit
    assert result["cy_connections"] == 2, result
    assert not result["cy_in_room"] and not result["cy_restarting"], result
    assert result["cy_connections_open"] == [] and result["cy_tracks_open"] == [], result
    assert not result["cy_preferences"], result
    assert result["watcher_cy_after_leaving"] == [], result  # told cy left, and nothing of cy after that
    if removal == "remove":
        assert result["room_open"] and result["others_in_room"], result
        assert result["subscriptions_to_cy"] == {"ann": [], "bob": []}, result



@pytest.mark.usefixtures("netns_capable")
def test_a_restart_overtaken_by_another_leaves_one_connection_the_latest() -> None:
    result, _ = run_module(MODULE, "restart_again", "mid_restart", timeout=90)
    assert result["outcome"]["restart_in_flight_at_removal"], result
    assert result["cy_connections"] == 3 and result["cy_in_room"] and not result["cy_restarting"], result
    assert result["cy_connections_open"] == [2], result  # the first and the overtaken one are closed
    assert sorted(result["cy_tracks_open"]) == [[2, "audio"], [2, "video"]], result
    assert result["cy_events"] == ["published", "published", "continued", "continued"], result
    assert [len(subs) for subs in result["subscriptions_to_cy"].values()] == [2, 2], result
    assert result["subscriptions_to_closed_tracks"] == [], result
    assert result["cy_preferences"], result  # a restart keeps them (docs/signaling.md 13.12)


if __name__ == "__main__":
    emit_result(asyncio.run(scenario(sys.argv[1], sys.argv[2])))
