"""The captions use case: what the media server's captioner hears goes to the meeting's transcript and
to the room; turning captions on and off reaches the captioner of every process; members read the
transcript.

Rules:
- ``heard`` (CaptionSink): a final caption is kept in the transcript (once per id); every caption,
  partial or final, goes to the room as CaptionSpoken, with the speaker's display name and its times
  in seconds since the meeting started.  A caption of a meeting that is not live with captions on
  (ended, unknown, turned off meanwhile) is dropped, and so is one without words.
- ``unavailable`` / ``resumed`` (CaptionSink): the room hears CaptionsChanged(available=False,
  reason="speech_to_text_unavailable") once when speech-to-text cannot be reached, and
  CaptionsChanged(available=True) once it is back.
- ``on_room_event`` (every process, for the rooms it listens to): CaptionsChanged(on) starts this
  process's captioner on the room, CaptionsChanged(off) and RoomClosed stop it.  The meeting events
  themselves become CaptionsChanged in RoomService.on_meeting_event (once, whichever process consumed
  them), exactly like a lock becomes LockChanged.
- ``idle``: this process no longer listens to the room (nobody of it here): its tap stops.
- ``joined``: someone entered the room on this process; if captions are on and this process does not
  caption the room yet (it restarted, or it is another process than the one that heard the turn-on)
  it starts.  Returns what the newcomer is told in ``room_state``.
- ``on_event`` (the domain-event feed, once per event): a deleted meeting's transcript is deleted.
- ``transcript``: the meeting's final captions, for its host, co-hosts, the people who attended it and
  administrators (as its recordings, domain/recordings/access.py, without the ``allow_recording``
  condition: the transcript is what members heard live anyway), during and after the meeting.
"""

from __future__ import annotations

import datetime as dt
import logging

from attrs import define, field, frozen

from domain.captions.errors import TranscriptHidden
from domain.captions.model import Caption
from domain.meetings import events as me
from domain.meetings.model import Meeting, MeetingStatus
from domain.rooms.events import CaptionsChanged, CaptionSpoken, RoomClosed, RoomEvent
from domain.shared.actor import Actor
from domain.shared.events import DomainEvent
from domain.shared.ids import MeetingId, UserId
from domain.users.errors import UserNotFound
from ports.captions import CaptionedMeetings, RoomCaptioner, TranscriptStore
from ports.meetings import MeetingRepository
from ports.rooms import SignalBus
from ports.users import UserDirectory

log = logging.getLogger(__name__)
NAMES_KEPT = 10_000  # display names remembered (a caption per second per speaker must not look each up)
TRANSCRIPT_MAX = 10_000
UNAVAILABLE = "speech_to_text_unavailable"  # what members are told while speech-to-text cannot be reached


@frozen(kw_only=True)
class CaptionsNow:
    """What a member joining the room is told: whether captions are on, and whether they can be made."""

    on: bool
    available: bool
    reason: str | None = None


@frozen(kw_only=True)
class Transcript:
    """A meeting's final captions between ``origin`` and ``until``; ``names`` maps speakers to their
    display names; offsets are taken from ``origin`` (the meeting's start, or the ``since`` asked for)."""

    meeting_id: MeetingId
    origin: dt.datetime
    until: dt.datetime | None
    captions: tuple[Caption, ...]
    names: dict[str, str]


@define(kw_only=True)
class CaptionService:
    transcripts: TranscriptStore
    bus: SignalBus
    meetings: MeetingRepository  # for transcripts (read where the meetings are kept)
    captioned: CaptionedMeetings  # whether a room is captioned now (the meetings service's answer elsewhere)
    users: UserDirectory
    captioner: RoomCaptioner | None = None  # None: this process makes no captions
    _names: dict[UserId, str] = field(factory=dict, init=False)
    _unavailable: dict[MeetingId, str] = field(factory=dict, init=False)

    # -- CaptionSink ---------------------------------------------------------------------------------

    async def heard(self, caption: Caption) -> None:
        if not caption.text.strip():
            return  # a window of no words (noise, a cough) is nothing to show or keep
        started = await self._live_start(caption.meeting_id)
        if started is None:
            return
        if caption.final:
            await self.transcripts.add(caption)
        await self.bus.publish(CaptionSpoken(
            room_id=caption.meeting_id, caption_id=caption.id, speaker_id=caption.speaker_id,
            display_name=await self._name(caption.speaker_id), text=caption.text, final=caption.final,
            start_s=_seconds(caption.start_at, started), end_s=_seconds(caption.end_at, started),
            start_at=caption.start_at, end_at=caption.end_at))

    async def unavailable(self, room_id: MeetingId, reason: str) -> None:
        """Members get a stable reason (UNAVAILABLE); the captioner's own (an error message that may name
        internal hosts) stays in the log."""
        if room_id in self._unavailable:
            return
        log.warning("captions unavailable", extra={"room_id": room_id, "reason": reason})
        self._unavailable[room_id] = UNAVAILABLE
        await self.bus.publish(CaptionsChanged(room_id=room_id, on=True, available=False, reason=UNAVAILABLE))

    async def resumed(self, room_id: MeetingId) -> None:
        if self._unavailable.pop(room_id, None) is None:
            return
        await self.bus.publish(CaptionsChanged(room_id=room_id, on=True, available=True))

    # -- the domain-event feed (once per event) -------------------------------------------------------------

    async def on_event(self, event: DomainEvent) -> None:
        """Idempotent (deleting twice removes nothing more)."""
        if isinstance(event, me.MeetingDeleted):
            removed = await self.transcripts.delete(MeetingId(event.meeting_id))
            if removed:
                log.info("transcript deleted with its meeting", extra={"meeting_id": event.meeting_id,
                                                                        "captions": removed})

    # -- every process ---------------------------------------------------------------------------------

    async def on_room_event(self, event: RoomEvent) -> None:
        """Idempotent; unrelated events are ignored."""
        room_id = event.room_id
        match event:
            case CaptionsChanged(on=True, available=available, reason=reason):
                if available:
                    self._unavailable.pop(room_id, None)
                else:
                    self._unavailable[room_id] = reason or UNAVAILABLE
                if self.captioner is not None:
                    await self.captioner.start(room_id)
            case CaptionsChanged(on=False) | RoomClosed():
                self._unavailable.pop(room_id, None)
                if self.captioner is not None:
                    await self.captioner.stop(room_id)

    async def idle(self, room_id: MeetingId) -> None:
        """Nobody of the room is on this process any more (no socket, no media): its tap stops here, as
        this process will not hear the room's events; ``joined`` starts it again if someone comes back."""
        self._unavailable.pop(room_id, None)
        if self.captioner is not None and room_id in await self.captioner.captioning():
            await self.captioner.stop(room_id)

    async def joined(self, room_id: MeetingId) -> CaptionsNow:
        """Also stops a tap left running here while captions went off unheard (this process had
        nobody in the room then)."""
        on = await self.captioned.live_since(room_id) is not None
        if self.captioner is not None:
            running = room_id in await self.captioner.captioning()
            if on and not running:
                await self.captioner.start(room_id)
            elif running and not on:
                await self.captioner.stop(room_id)
        if self.captioner is None:
            return CaptionsNow(on=on, available=False, reason="not_configured")
        reason = self._unavailable.get(room_id)
        return CaptionsNow(on=on, available=reason is None, reason=reason)

    # -- reading -----------------------------------------------------------------------------------------

    async def transcript(self, actor: Actor, meeting_id: MeetingId, *, since: dt.datetime | None = None,
                         until: dt.datetime | None = None) -> Transcript:
        """MeetingNotFound for an unknown meeting, TranscriptHidden for someone who may not see it."""
        meeting = await self.meetings.get(meeting_id)
        if not may_read_transcript(actor, meeting):
            raise TranscriptHidden("only the meeting's host, co-hosts, the people who attended it and "
                                   "administrators see its transcript", meeting_id=meeting_id)
        captions = await self.transcripts.transcript(meeting_id, since=since, until=until, limit=TRANSCRIPT_MAX)
        origin = _to_millisecond(since or meeting.started_at or meeting.start_time)  # as stores keep times
        names = {s: await self._name(UserId(s)) for s in sorted({c.speaker_id for c in captions})}
        return Transcript(meeting_id=meeting_id, origin=origin, until=until, captions=tuple(captions),
                          names=names)

    # -- plumbing ------------------------------------------------------------------------------------------

    async def _live_start(self, room_id: MeetingId) -> dt.datetime | None:
        """When the meeting started, if it is live with captions on now.  Read for every caption (one
        primary-key read every few seconds per speaker, next to seconds of inference): a cache would
        have to hear every end and turn-off, which not every process does."""
        return await self.captioned.live_since(room_id)

    async def _name(self, user_id: UserId) -> str:
        name = self._names.get(user_id)
        if name is None:
            try:
                name = (await self.users.summary(user_id)).display_name
            except UserNotFound:
                return "unknown"
            if len(self._names) >= NAMES_KEPT:
                self._names.clear()
            self._names[user_id] = name
        return name


def may_read_transcript(actor: Actor, meeting: Meeting) -> bool:
    # A kicked user is never an attendee (the meeting's invariant): attending is the whole rule.
    return actor.is_admin or meeting.can_manage(actor) or actor.user_id in meeting.attendees


def live_captions_since(meeting: Meeting) -> dt.datetime | None:
    """When the meeting started, if it is live with captions on now (CaptionedMeetings' rule)."""
    if meeting.status is MeetingStatus.LIVE and meeting.captions_on:
        return meeting.started_at or meeting.start_time
    return None


def _to_millisecond(at: dt.datetime) -> dt.datetime:
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def _seconds(at: dt.datetime, origin: dt.datetime) -> float:
    return max(0.0, round((at - origin).total_seconds(), 3))
