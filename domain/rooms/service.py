"""Room use cases: enter and leave, relay WebRTC signals between members, media state, chat, and the
room side of meeting events (kicks, ends) and of revoked sessions.  Speaks only through ports and
typed room events (domain/rooms/events.py): whoever holds the sockets subscribes to the SignalBus and
turns what is published there into its wire format."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import define, evolve

from domain.meetings import events as me
from domain.recordings import events as re_
from domain.rooms.errors import InvalidSignal, NotInRoom, PeerNotInRoom
from domain.rooms.events import (
    CaptionsChanged,
    ChatPosted,
    LockChanged,
    MediaChanged,
    MemberJoined,
    MemberKicked,
    MemberLeft,
    MemberRemoved,
    MemberResumed,
    RecordingChanged,
    RoleChanged,
    RoomClosed,
    SessionReplaced,
    SignalSent,
)
from domain.rooms.media import SFU_PEER_ID, ParticipantMediaStats
from domain.rooms.model import CHAT_MAX, CloseReason, IceCandidate, LeaveReason, MediaState, Member, SignalKind
from domain.rooms.recording import ActiveRecording
from domain.rooms.revocation import revocation_for
from domain.shared.actor import Actor
from domain.shared.events import DomainEvent
from domain.shared.ids import MeetingId, UserId, new_id
from ports.clock import Clock
from ports.media import MediaServer
from ports.rooms import MeetingAccess, RecordingStatus, RoomPresence, SignalBus

CLOSING: dict[type[me.MeetingEvent], CloseReason] = {
    me.MeetingEnded: CloseReason.ENDED, me.MeetingCancelled: CloseReason.CANCELLED,
    me.MeetingDeleted: CloseReason.DELETED}


@define(kw_only=True)
class RoomService:
    presence: RoomPresence
    bus: SignalBus
    meetings: MeetingAccess
    clock: Clock
    member_ttl: dt.timedelta = dt.timedelta(seconds=15)
    grace: dt.timedelta = dt.timedelta(seconds=10)
    media: MediaServer | None = None  # the SFU, for its statistics
    recordings: RecordingStatus | None = None  # what a newcomer is told about a running recording

    async def join(self, actor: Actor, room_id: MeetingId, connection_id: str,
                   password: str | None = None) -> tuple[Member, list[Member]]:
        """Rules: the meeting domain admits the user (joining the meeting if needed).  Re-joining with
        a new connection (a reconnect, another tab) takes the membership over without MemberLeft /
        MemberJoined for the others (they get MemberResumed), keeping media state; the old connection
        gets SessionReplaced."""
        admission = await self.meetings.admit(actor, room_id, password)
        now = self.clock.now()
        others = [evolve(m, role=admission.roles.get(m.user_id, "participant"))
                  for m in await self.presence.members(room_id, now) if m.user_id != actor.user_id]
        member = Member(user_id=actor.user_id, connection_id=connection_id, display_name=admission.display_name,
                        role=admission.role, media=MediaState(audio=not admission.mute_on_join), joined_at=now)
        replaced = await self.presence.enter(room_id, member, now + self.member_ttl)
        if replaced is None:
            await self.bus.publish(MemberJoined(room_id=room_id, member=member))
        else:
            member = evolve(member, media=replaced.media, joined_at=replaced.joined_at)
            await self.presence.enter(room_id, member, now + self.member_ttl)
            if replaced.connection_id != connection_id:
                await self.bus.publish(SessionReplaced(room_id=room_id, user_id=actor.user_id,
                                                       connection_id=replaced.connection_id))
                # The others keep the member but must expect a fresh offer from its new connection.
                await self.bus.publish(MemberResumed(room_id=room_id, user_id=actor.user_id))
        return member, others

    async def leave(self, actor: Actor, room_id: MeetingId, connection_id: str) -> None:
        removed = await self.presence.remove(room_id, actor.user_id, connection_id)
        if removed is None:
            raise NotInRoom("you are not in this room", room_id=room_id)
        # The meeting first: whoever hears MemberLeft may look at the participants right away.
        await self.meetings.depart(actor, room_id)
        await self._left(room_id, removed, LeaveReason.LEFT)

    async def open_socket(self, user_id: UserId, socket_id: str, limit: int) -> bool:
        """Rules: a user has at most ``limit`` open sockets across processes; False refuses this one.
        A socket lives as long as a member would without renewal (``keep_sockets``)."""
        now = self.clock.now()
        return await self.presence.claim_socket(user_id, socket_id, limit, now, now + self.member_ttl)

    async def keep_sockets(self, sockets: Sequence[tuple[UserId, str]]) -> None:
        now = self.clock.now()
        await self.presence.renew_sockets(sockets, now, now + self.member_ttl)

    async def close_socket(self, user_id: UserId, socket_id: str) -> None:
        await self.presence.release_socket(user_id, socket_id)

    async def disconnected(self, user_id: UserId, room_id: MeetingId, connection_id: str) -> None:
        """The socket is gone: keep the membership for the grace period, so a reconnect resumes it."""
        await self.presence.renew(room_id, user_id, connection_id, self.clock.now() + self.grace)

    async def heartbeat(self, user_id: UserId, room_id: MeetingId, connection_id: str) -> bool:
        """False when the membership was taken over or reaped: the socket is no longer in the room."""
        return await self.presence.renew(room_id, user_id, connection_id, self.clock.now() + self.member_ttl)

    async def require_member(self, user_id: UserId, room_id: MeetingId, connection_id: str) -> list[Member]:
        """The room's members, if ``connection_id`` is the user's connection in it; NotInRoom otherwise."""
        members = await self.presence.members(room_id, self.clock.now())
        if not any(m.user_id == user_id and m.connection_id == connection_id for m in members):
            raise NotInRoom("you are not in this room", room_id=room_id)
        return members

    async def relay(self, actor: Actor, room_id: MeetingId, connection_id: str, kind: SignalKind, to: UserId, *,
                    sdp: str | None = None, candidate: IceCandidate | None = None) -> None:
        """An offer / answer / ice_candidate goes to one other member of the room only."""
        if (sdp is None) == (candidate is None) or (candidate is not None) != (kind is SignalKind.ICE_CANDIDATE):
            raise InvalidSignal(f"a {kind.value} carries {'a candidate' if kind is SignalKind.ICE_CANDIDATE else 'sdp'}")
        members = await self.require_member(actor.user_id, room_id, connection_id)
        if to == actor.user_id or not any(m.user_id == to for m in members):
            raise PeerNotInRoom("that peer is not in this room", room_id=room_id, peer=to)
        await self.bus.publish(SignalSent(room_id=room_id, kind=kind, sender=actor.user_id, to=to, sdp=sdp,
                                          candidate=candidate))

    async def signal_sfu(self, actor: Actor, room_id: MeetingId, connection_id: str, kind: SignalKind,
                         payload: Mapping[str, Any]) -> None:
        """An offer / answer / ice_candidate for the room's media server, from a member of the room only
        (PeerNotInRoom when the room has no media server).  An offer names the connection that made it (a
        media node keeps it, so a removal about an older connection of the member changes nothing).

        An offer whose member is gone by the time the media server has applied it (a kick, a leave or the
        meeting's end in between) is removed from the media server again, and NotInRoom: the removal that
        came with the departure may have reached the media server first, and nothing else would remove
        the connection the offer made there."""
        if self.media is None:
            raise PeerNotInRoom("this room has no media server", room_id=room_id, peer=SFU_PEER_ID)
        await self.require_member(actor.user_id, room_id, connection_id)
        if kind is SignalKind.OFFER:
            payload = {**payload, "connection": connection_id}
        await self.media.signal(room_id, actor.user_id, kind.value, payload)
        if kind is SignalKind.OFFER:
            members = await self.presence.members(room_id, self.clock.now())
            if not any(m.user_id == actor.user_id for m in members):
                await self.media.remove(room_id, actor.user_id, connection_id)
                raise NotInRoom("you are not in this room", room_id=room_id)

    async def set_media(self, actor: Actor, room_id: MeetingId, connection_id: str, media: MediaState) -> None:
        """Rules: the member's audio / video / screen become ``media``; a raised hand stays raised
        (``raise_hand`` alone raises and lowers it).  Everyone else is told."""
        current = await self._me(actor, room_id, connection_id)
        await self._store_media(actor, room_id, connection_id, evolve(media, hand=current.media.hand))

    async def raise_hand(self, actor: Actor, room_id: MeetingId, connection_id: str, raised: bool,
                         user_id: UserId | None = None) -> None:
        """Rules: the member's hand goes up or down, its media unchanged; everyone else is told (as a
        media state).  The host, a co-host or an administrator may lower another member's hand
        (``user_id``; NotMeetingHost otherwise), and then that member is told too; nobody raises
        another's hand (InvalidSignal); PeerNotInRoom for someone not in the room."""
        if user_id is None or user_id == actor.user_id:
            current = await self._me(actor, room_id, connection_id)
            await self._store_media(actor, room_id, connection_id, evolve(current.media, hand=raised))
            return
        if raised:
            raise InvalidSignal("only members raise their own hands", field="raised")
        members = await self.require_member(actor.user_id, room_id, connection_id)
        await self.meetings.require_manager(actor, room_id)
        target = next((m for m in members if m.user_id == user_id), None)
        if target is None:
            raise PeerNotInRoom("that member is not in this room", room_id=room_id, peer=user_id)
        await self._store_media(Actor(user_id), room_id, target.connection_id, evolve(target.media, hand=False),
                                by=actor.user_id)

    async def _me(self, actor: Actor, room_id: MeetingId, connection_id: str) -> Member:
        members = await self.require_member(actor.user_id, room_id, connection_id)
        return next(m for m in members if m.user_id == actor.user_id)

    async def _store_media(self, actor: Actor, room_id: MeetingId, connection_id: str, media: MediaState,
                           by: UserId | None = None) -> None:
        member = await self.presence.set_media(room_id, actor.user_id, connection_id, media)
        if member is None:
            raise NotInRoom("you are not in this room", room_id=room_id)
        await self.bus.publish(MediaChanged(room_id=room_id, user_id=actor.user_id, media=member.media, by=by))

    async def chat(self, actor: Actor, room_id: MeetingId, connection_id: str, text: str) -> ChatPosted:
        """Everyone in the room, the sender included, receives the message (one order for all)."""
        text = text.strip()
        if not 1 <= len(text) <= CHAT_MAX:
            raise InvalidSignal(f"chat text must be 1-{CHAT_MAX} characters", field="text")
        members = await self.require_member(actor.user_id, room_id, connection_id)
        sender = next(m for m in members if m.user_id == actor.user_id)
        posted = ChatPosted(room_id=room_id, message_id=new_id(), sender=actor.user_id,
                            display_name=sender.display_name, text=text, sent_at=self.clock.now())
        await self.bus.publish(posted)
        return posted

    async def reap(self) -> int:
        """Members whose process died or whose socket did not come back: gone, and everyone is told.
        A user who came back on a new connection between the expiry and now stays in the meeting (and
        the room hears of it as a takeover, not as a leave)."""
        expired = await self.presence.reap(self.clock.now())
        for room_id, member in expired:
            members = await self.presence.members(room_id, self.clock.now())
            if any(m.user_id == member.user_id for m in members):
                await self.bus.publish(SessionReplaced(room_id=room_id, user_id=member.user_id,
                                                       connection_id=member.connection_id))
                continue
            await self.meetings.depart(Actor(member.user_id), room_id)
            await self._left(room_id, member, LeaveReason.DISCONNECTED)
        return len(expired)

    async def on_event(self, event: DomainEvent) -> None:
        """The room side of the meeting's host actions and of leaving through the HTTP API, and the
        sockets' side of revoked sessions.  Idempotent: events may come twice."""
        revoked = revocation_for(event)
        if revoked is not None:
            await self.bus.broadcast(revoked)
        elif isinstance(event, me.MeetingEvent):
            await self.on_meeting_event(event)
        elif isinstance(event, re_.RecordingEvent):
            await self.on_recording_event(event)

    async def on_recording_event(self, event: re_.RecordingEvent) -> None:
        """Everyone in the room is told when recording starts and when it stops (stopped, failed, or the
        meeting ended).  A failure after the stop was already announced says nothing new."""
        room_id = MeetingId(event.meeting_id)
        match event:
            case re_.RecordingStarted(started_by=by):
                await self.bus.publish(RecordingChanged(room_id=room_id, recording_id=event.recording_id,
                                                        active=True, started_by=by))
            case re_.RecordingStopped(by=by):
                await self.bus.publish(RecordingChanged(room_id=room_id, recording_id=event.recording_id,
                                                        active=False, reason="stopped" if by else "meeting_ended"))
            case re_.RecordingFailed(was_recording=True):
                await self.bus.publish(RecordingChanged(room_id=room_id, recording_id=event.recording_id,
                                                        active=False, reason="failed"))

    async def recording_now(self, room_id: MeetingId) -> ActiveRecording | None:
        """The room's running recording, for someone who joins while it runs (None without a source)."""
        return None if self.recordings is None else await self.recordings.active(room_id)

    async def on_meeting_event(self, event: me.MeetingEvent) -> None:
        room_id = MeetingId(event.meeting_id)
        match event:
            case me.ParticipantKicked(user_id=user_id, by=by):
                await self.bus.publish(MemberKicked(room_id=room_id, user_id=UserId(user_id), by=UserId(by)))
                removed = await self.presence.remove(room_id, UserId(user_id))
                if removed is not None:
                    await self._left(room_id, removed, LeaveReason.KICKED)
            case me.ParticipantLeft(user_id=user_id):
                # Only the stay the event is about: a member who left and came straight back (a new
                # connection, joined after the event) must not be removed by that earlier leave
                # arriving late.  Removing by connection id keeps this atomic against a join in between.
                current = next((m for m in await self.presence.members(room_id, self.clock.now())
                                if m.user_id == user_id), None)
                if current is None or current.joined_at > event.occurred_at:
                    return
                removed = await self.presence.remove(room_id, UserId(user_id), current.connection_id)
                if removed is not None:
                    await self.bus.publish(MemberRemoved(room_id=room_id, user_id=removed.user_id))
                    await self._left(room_id, removed, LeaveReason.LEFT)
            case me.MeetingEnded() | me.MeetingCancelled() | me.MeetingDeleted():
                await self.presence.clear(room_id)
                await self.bus.publish(RoomClosed(room_id=room_id, reason=CLOSING[type(event)]))
            case me.MeetingLocked() | me.MeetingUnlocked():
                await self.bus.publish(LockChanged(room_id=room_id, locked=isinstance(event, me.MeetingLocked)))
            case me.CaptionsTurnedOn(by=by) | me.CaptionsTurnedOff(by=by):
                await self.bus.publish(CaptionsChanged(room_id=room_id, on=isinstance(event, me.CaptionsTurnedOn),
                                                       by=UserId(by)))
            case me.CoHostPromoted(user_id=user_id) | me.CoHostDemoted(user_id=user_id):
                role = "co_host" if isinstance(event, me.CoHostPromoted) else "participant"
                await self.bus.publish(RoleChanged(room_id=room_id, user_id=UserId(user_id), role=role))
            case me.HostTransferred(from_user_id=old, to_user_id=new):
                for user, role in ((old, "co_host"), (new, "host")):
                    await self.bus.publish(RoleChanged(room_id=room_id, user_id=UserId(user), role=role))

    async def media_stats(self, actor: Actor, room_id: MeetingId) -> list[ParticipantMediaStats]:
        """Rules: only the meeting's host, co-hosts and administrators see them (NotMeetingHost)."""
        await self.meetings.require_manager(actor, room_id)
        return [] if self.media is None else await self.media.stats(room_id)

    async def _left(self, room_id: MeetingId, member: Member, reason: LeaveReason) -> None:
        await self.bus.publish(MemberLeft(room_id=room_id, user_id=member.user_id,
                                          connection_id=member.connection_id, reason=reason))
