"""A MediaServer fake for the media node's gRPC tests: it keeps who offered in which room, answers
stats from that, and raises the errors queued in ``failures`` (then answers)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from domain.rooms.errors import InvalidSignal
from domain.rooms.media import ParticipantMediaStats, TrackStats
from domain.shared.ids import MeetingId, UserId


class FakeMediaServer:
    def __init__(self) -> None:
        self.rooms: dict[MeetingId, set[UserId]] = {}
        self.calls: list[tuple[Any, ...]] = []
        self.failures: list[BaseException] = []
        self.gate: asyncio.Event | None = None
        self.closed = False

    async def _call(self, *call: Any) -> None:
        self.calls.append(call)
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            raise self.failures.pop(0)

    async def signal(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None:
        await self._call("signal", room_id, user_id, kind, dict(payload))
        if kind == "offer":
            self.rooms.setdefault(room_id, set()).add(user_id)
        elif kind == "answer" and user_id not in self.rooms.get(room_id, set()):
            raise InvalidSignal("the SFU is not waiting for an answer from you", field="sdp")

    async def remove(self, room_id: MeetingId, user_id: UserId, connection: str | None = None) -> None:
        await self._call("remove", room_id, user_id)  # the SFU does not know connections: MediaNode does
        members = self.rooms.get(room_id, set())
        members.discard(user_id)
        if not members:
            self.rooms.pop(room_id, None)

    async def close_room(self, room_id: MeetingId) -> None:
        await self._call("close_room", room_id)
        self.rooms.pop(room_id, None)

    async def stats(self, room_id: MeetingId) -> list[ParticipantMediaStats]:
        await self._call("stats", room_id)
        return [ParticipantMediaStats(user_id=u, connection_state="connected", tracks=(
            TrackStats(publisher_id=u, kind="audio", direction="inbound", active=True, bitrate_bps=32_000,
                       packets=50, packets_lost=1, rtt_ms=None, frames_forwarded=0),
            TrackStats(publisher_id=u, kind="video", direction="outbound", active=False, bitrate_bps=0,
                       packets=0, packets_lost=0, rtt_ms=12.5, frames_forwarded=7)))
            for u in sorted(self.rooms.get(room_id, ()))]

    async def close(self) -> None:
        self.closed = True
