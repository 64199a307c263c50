"""Room use cases: enter and leave, relay WebRTC signals between members, media state, chat, and the
room side of meeting events (kicks, ends).  Speaks only through ports: whoever holds the sockets
subscribes to the SignalBus and delivers what is published there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from attrs import define, evolve

from domain.rooms.errors import InvalidSignal, NotInRoom, PeerNotInRoom
from domain.rooms.media import SFU_PEER_ID, ParticipantMediaStats
from domain.rooms.model import CHAT_MAX, LeaveReason, MediaState, Member, RoomMessage
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId, UserId, new_id
from ports.clock import Clock
from ports.media import MediaServer
from ports.rooms import MeetingAccess, RoomPresence, SignalBus

RELAYED = ("offer", "answer", "ice_candidate")
ROLE_EVENTS = {"meeting.cohost_promoted": "co_host", "meeting.cohost_demoted": "participant"}
CLOSING_EVENTS = {"meeting.ended": "ended", "meeting.cancelled": "cancelled", "meeting.deleted": "deleted"}


def member_view(m: Member) -> dict[str, Any]:
    return {"user_id": m.user_id, "display_name": m.display_name, "role": m.role,
            "media": {"audio": m.media.audio, "video": m.media.video, "screen": m.media.screen},
            "joined_at": m.joined_at.isoformat(timespec="microseconds").replace("+00:00", "Z")}


@define(kw_only=True)
class RoomService:
    presence: RoomPresence
    bus: SignalBus
    meetings: MeetingAccess
    clock: Clock
    member_ttl: dt.timedelta = dt.timedelta(seconds=15)
    grace: dt.timedelta = dt.timedelta(seconds=10)
    media: MediaServer | None = None  # the SFU (SFU_PEER_ID); without it, signals to it are refused

    async def join(self, actor: Actor, room_id: MeetingId, connection_id: str,
                   password: str | None = None) -> tuple[Member, list[Member]]:
        """Rules: the meeting domain admits the user (joining the meeting if needed).  Re-joining with
        a new connection (a reconnect, another tab) takes the membership over without member_left /
        member_joined for the others (they get member_resumed), keeping media state; the old connection
        is told and closed."""
        admission = await self.meetings.admit(actor, room_id, password)
        now = self.clock.now()
        others = [evolve(m, role=admission.roles.get(m.user_id, "participant"))
                  for m in await self.presence.members(room_id, now) if m.user_id != actor.user_id]
        member = Member(user_id=actor.user_id, connection_id=connection_id, display_name=admission.display_name,
                        role=admission.role, media=MediaState(audio=not admission.mute_on_join), joined_at=now)
        replaced = await self.presence.enter(room_id, member, now + self.member_ttl)
        if replaced is None:
            await self.bus.publish(RoomMessage(room_id=room_id, kind="member_joined",
                                               data={"room_id": room_id, **member_view(member)},
                                               exclude=actor.user_id))
        else:
            member = evolve(member, media=replaced.media, joined_at=replaced.joined_at)
            await self.presence.enter(room_id, member, now + self.member_ttl)
            if replaced.connection_id != connection_id:
                await self.bus.publish(RoomMessage(
                    room_id=room_id, kind="session_replaced", data={"room_id": room_id}, to=actor.user_id,
                    connection_id=replaced.connection_id, close="replaced"))
                # The others keep the member but must expect a fresh offer from its new connection;
                # so does the SFU: the old connection's media goes now.
                await self._media_remove(room_id, actor.user_id)
                await self.bus.publish(RoomMessage(room_id=room_id, kind="member_resumed", exclude=actor.user_id,
                                                   data={"room_id": room_id, "user_id": actor.user_id}))
        return member, others

    async def leave(self, actor: Actor, room_id: MeetingId, connection_id: str) -> None:
        removed = await self.presence.remove(room_id, actor.user_id, connection_id)
        if removed is None:
            raise NotInRoom("you are not in this room", room_id=room_id)
        # The meeting first: whoever hears member_left may look at the participants right away.
        await self.meetings.depart(actor, room_id)
        await self._announce_left(room_id, actor.user_id, LeaveReason.LEFT)

    async def disconnected(self, user_id: UserId, room_id: MeetingId, connection_id: str) -> None:
        """The socket is gone: keep the membership for the grace period, so a reconnect resumes it."""
        await self.presence.renew(room_id, user_id, connection_id, self.clock.now() + self.grace)

    async def heartbeat(self, user_id: UserId, room_id: MeetingId, connection_id: str) -> bool:
        """False when the membership was taken over or reaped: the socket is no longer in the room."""
        return await self.presence.renew(room_id, user_id, connection_id, self.clock.now() + self.member_ttl)

    async def relay(self, actor: Actor, room_id: MeetingId, connection_id: str, kind: str, to: UserId,
                    payload: Mapping[str, Any]) -> None:
        """offer / answer / ice_candidate go to one member only, or to the SFU (SFU_PEER_ID) when there
        is one; to anyone else it is an error."""
        if kind not in RELAYED:
            raise InvalidSignal(f"cannot relay {kind}")
        members = await self._require_member(actor.user_id, room_id, connection_id)
        if to == SFU_PEER_ID and self.media is not None:
            await self.media.signal(room_id, actor.user_id, kind, payload)
            return
        if to == actor.user_id or not any(m.user_id == to for m in members):
            raise PeerNotInRoom("that peer is not in this room", room_id=room_id, peer=to)
        await self.bus.publish(RoomMessage(room_id=room_id, kind=kind, to=to,
                                           data={"room_id": room_id, "from": actor.user_id, **payload}))

    async def set_media(self, actor: Actor, room_id: MeetingId, connection_id: str, media: MediaState) -> None:
        member = await self.presence.set_media(room_id, actor.user_id, connection_id, media)
        if member is None:
            raise NotInRoom("you are not in this room", room_id=room_id)
        await self.bus.publish(RoomMessage(room_id=room_id, kind="media_state", exclude=actor.user_id, data={
            "room_id": room_id, "user_id": actor.user_id, **member_view(member)["media"]}))

    async def chat(self, actor: Actor, room_id: MeetingId, connection_id: str, text: str) -> dict[str, Any]:
        """Everyone in the room, the sender included, receives the message (one order for all)."""
        text = text.strip()
        if not 1 <= len(text) <= CHAT_MAX:
            raise InvalidSignal(f"chat text must be 1-{CHAT_MAX} characters", field="text")
        members = await self._require_member(actor.user_id, room_id, connection_id)
        sender = next(m for m in members if m.user_id == actor.user_id)
        data = {"room_id": room_id, "message_id": new_id(), "from": actor.user_id,
                "display_name": sender.display_name, "text": text,
                "sent_at": self.clock.now().isoformat(timespec="microseconds").replace("+00:00", "Z")}
        await self.bus.publish(RoomMessage(room_id=room_id, kind="chat", data=data))
        return data

    async def reap(self) -> int:
        """Members whose process died or whose socket did not come back: gone, and everyone is told."""
        expired = await self.presence.reap(self.clock.now())
        for room_id, member in expired:
            await self.meetings.depart(Actor(member.user_id), room_id)
            await self._announce_left(room_id, member.user_id, LeaveReason.DISCONNECTED)
        return len(expired)

    async def on_meeting_event(self, name: str, data: Mapping[str, Any]) -> None:
        """The room side of the meeting's host actions and of leaving through the HTTP API."""
        room_id = MeetingId(str(data.get("meeting_id", "")))
        if not room_id:
            return
        if name == "meeting.participant_kicked":
            user = UserId(str(data["user_id"]))
            await self.bus.publish(RoomMessage(room_id=room_id, kind="kicked", to=user, close="kicked",
                                               data={"room_id": room_id, "by": data.get("by")}))
            if await self.presence.remove(room_id, user) is not None:
                await self._announce_left(room_id, user, LeaveReason.KICKED)
        elif name == "meeting.participant_left":
            user = UserId(str(data["user_id"]))
            if await self.presence.remove(room_id, user) is not None:
                await self.bus.publish(RoomMessage(room_id=room_id, kind="removed", to=user,
                                                   data={"room_id": room_id, "reason": "left"}))
                await self._announce_left(room_id, user, LeaveReason.LEFT)
        elif name in CLOSING_EVENTS:
            await self.presence.clear(room_id)
            if self.media is not None:
                await self.media.close_room(room_id)
            await self.bus.publish(RoomMessage(room_id=room_id, kind="room_closed",
                                               data={"room_id": room_id, "reason": CLOSING_EVENTS[name]}))
        elif name in ("meeting.locked", "meeting.unlocked"):
            await self.bus.publish(RoomMessage(room_id=room_id, kind="room_updated",
                                               data={"room_id": room_id, "locked": name == "meeting.locked"}))
        elif name in ROLE_EVENTS:
            await self.bus.publish(RoomMessage(room_id=room_id, kind="role_changed", data={
                "room_id": room_id, "user_id": data["user_id"], "role": ROLE_EVENTS[name]}))
        elif name == "meeting.host_transferred":
            for user, role in ((data["from_user_id"], "co_host"), (data["to_user_id"], "host")):
                await self.bus.publish(RoomMessage(room_id=room_id, kind="role_changed",
                                                   data={"room_id": room_id, "user_id": user, "role": role}))

    async def _require_member(self, user_id: UserId, room_id: MeetingId, connection_id: str) -> list[Member]:
        members = await self.presence.members(room_id, self.clock.now())
        if not any(m.user_id == user_id and m.connection_id == connection_id for m in members):
            raise NotInRoom("you are not in this room", room_id=room_id)
        return members

    async def media_stats(self, actor: Actor, room_id: MeetingId) -> list[ParticipantMediaStats]:
        """Rules: only the meeting's host, co-hosts and administrators see them (NotMeetingHost)."""
        await self.meetings.require_manager(actor, room_id)
        return [] if self.media is None else await self.media.stats(room_id)

    async def _media_remove(self, room_id: MeetingId, user_id: UserId) -> None:
        if self.media is not None:
            await self.media.remove(room_id, user_id)

    async def _announce_left(self, room_id: MeetingId, user_id: UserId, reason: LeaveReason) -> None:
        await self._media_remove(room_id, user_id)
        await self.bus.publish(RoomMessage(room_id=room_id, kind="member_left", exclude=user_id,
                                           data={"room_id": room_id, "user_id": user_id, "reason": reason.value}))
