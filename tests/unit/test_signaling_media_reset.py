"""media_reset on the socket (docs/signaling.md 13.7): the media server's reset of one member reaches that
member's socket as the documented frame, and nobody else's; the member stays in the room."""

from __future__ import annotations

from adapters.inprocess.media_signals import SignalBusMediaSignals
from domain.rooms.model import MediaResetReason
from domain.shared.ids import MeetingId, UserId
from runners.app_state import SERVICES
from tests.unit.signaling_support import (  # noqa: F401  (fixtures)
    Signaling,
    signaling,
    signaling_factory,
    web_factory,
)


async def test_a_reset_reaches_only_its_member_who_stays_in_the_room(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    ann_socket, _ = await s.member(ann, mid)
    bob_socket, _ = await s.member(bob, mid)
    signals = SignalBusMediaSignals(s.web.app[SERVICES].signal_bus)

    await signals.media_reset(MeetingId(mid), UserId(bob.id), MediaResetReason.NODE_DRAINED)
    frame = await bob_socket.next("media_reset")  # CheckedClient checks it against the published schema
    assert frame["data"] == {"room_id": mid, "reason": "node_drained"}
    await ann_socket.never("media_reset")
    ack = await bob_socket.request("chat", {"room_id": mid, "text": "still here"})
    assert ack["type"] == "ack"
