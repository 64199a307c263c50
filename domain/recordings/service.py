"""Recording use cases: start and stop a meeting's recording, process it, list, download and delete
its files, stop it when the meeting ends, and finish what a crash left.

Every change goes through a unit of work, so a recording's state and its events (which tell the room
that recording started or stopped) commit together.  The media server's recorder runs between units:
the recording is committed as ``starting`` before the recorder is asked, so a crash in between leaves
a row that ``recover_unfinished`` finishes or fails, never media nobody knows of.

Several processes share one store, and a recording's media lives in the process whose SFU holds the
room: that process (``instance``) owns the recording and renews its lease (``heartbeat``).  Another
process recovers a recording only once it has claimed its lease, i.e. when the owner stopped renewing
(crashed) or is this instance in a previous life; a stop handled elsewhere only records ``stopping``,
and the owner's next heartbeat stops its recorder.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from attrs import define, field, frozen

from domain.meetings import events as me
from domain.meetings.model import MeetingStatus
from domain.recordings import errors as e
from domain.recordings.access import meeting_or_none, require_manager, require_manager_of, require_viewer
from domain.recordings.media import RecordedFile
from domain.recordings.model import Recording, RecordingState
from domain.shared.actor import Actor
from domain.shared.blobs import BlobNotFound
from domain.shared.errors import ConcurrentModification, DomainError, Unavailable
from domain.shared.events import DomainEvent
from domain.shared.ids import MeetingId, RecordingId, new_id
from ports.blobs import BlobInfo, BlobStore
from ports.clock import Clock
from ports.recording_media import RecordingProcessor, RoomRecorder
from ports.recordings import DownloadLinks
from ports.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)
ATTEMPTS = 8
PROGRESS_STEP = 0.05
ENDING = (me.MeetingEnded, me.MeetingCancelled, me.MeetingDeleted)


@frozen(kw_only=True)
class FileLink:
    file: RecordedFile
    url: str
    expires_at: dt.datetime


@frozen(kw_only=True)
class RecordingDetails:
    recording: Recording
    links: tuple[FileLink, ...]


@define(kw_only=True)
class RecordingService:
    uow: UnitOfWorkFactory
    recorder: RoomRecorder
    processor: RecordingProcessor
    blobs: BlobStore
    links: DownloadLinks
    clock: Clock
    link_ttl: dt.timedelta = dt.timedelta(minutes=15)
    processing_attempts: int = 3
    retry_delay: float = 2.0
    instance: str = "local"
    lease: dt.timedelta = dt.timedelta(seconds=20)
    _processing: set[RecordingId] = field(factory=set, init=False)
    _stopping: set[RecordingId] = field(factory=set, init=False)
    _jobs: set[asyncio.Task[Any]] = field(factory=set, init=False)
    _handled: collections.OrderedDict[str, None] = field(factory=collections.OrderedDict, init=False)

    # -- start and stop ----------------------------------------------------------------------------

    async def start(self, actor: Actor, meeting_id: MeetingId) -> Recording:
        """Rules: the meeting exists (MeetingNotFound); the caller is its host, a co-host or an
        administrator (NotAllowedToRecord); it is live (MeetingNotLive) and allows recording
        (RecordingNotAllowed); it has no active recording (RecordingConflict, also when another process
        wins a race: the store refuses the second).  When the recorder refuses, the recording is
        marked failed with the reason and the recorder's error is raised."""
        now = self.clock.now()
        async with self.uow() as uow:
            meeting = await uow.meetings.get(meeting_id)
            require_manager(actor, meeting)
            if meeting.status is not MeetingStatus.LIVE:
                raise e.MeetingNotLive("only a live meeting can be recorded; start it by joining",
                                       meeting_id=meeting_id, status=meeting.status.value)
            if not meeting.settings.allow_recording:
                raise e.RecordingNotAllowed("this meeting's settings do not allow recording", meeting_id=meeting_id)
            active = await uow.recordings.active_for_meeting(meeting_id)
            if active is not None:
                raise e.RecordingConflict("the meeting is being recorded already", recording_id=active.id)
            recording = Recording.begin(recording_id=RecordingId(new_id()), meeting_id=meeting_id,
                                        started_by=actor.user_id, now=now, owner=self.instance, lease=self.lease)
            await uow.recordings.add(recording)
            await uow.commit()
        try:
            await self.recorder.start(recording.id, meeting_id, recording.key_prefix)
        except DomainError as err:
            await self._fail(recording.id, f"the recorder did not start: {err.message}")
            raise
        except Exception as err:
            await self._fail(recording.id, f"the recorder did not start: {type(err).__name__}")
            raise
        started = await self._change(recording.id, lambda r: r.recorder_started(now=self.clock.now()),
                                     when=lambda r: r.state is RecordingState.STARTING)
        if started.state is not RecordingState.RECORDING:  # stopped or failed while the recorder started
            await self._stop_recorder(started)
        return started

    async def stop(self, actor: Actor, recording_id: RecordingId) -> Recording:
        """Rules: host, co-hosts and administrators (NotAllowedToRecord); a recording that is not
        running raises RecordingNotActive (stopping twice).  Returns the recording in processing (or
        failed when the recorder could not finish the files); processing runs in the background."""
        async with self.uow() as uow:
            recording = await uow.recordings.get(recording_id)
            require_manager_of(actor, recording, await meeting_or_none(uow, recording.meeting_id))
        # Marked before the stop commits: a heartbeat in between must not stop the recorder a second time.
        self._stopping.add(recording_id)
        try:
            stopped = await self._change(recording_id, lambda r: r.stop(by=actor.user_id, now=self.clock.now()))
            return await self._finish_stopped(stopped)
        finally:
            self._stopping.discard(recording_id)

    async def on_event(self, event: DomainEvent) -> None:
        """Ending, cancelling or deleting a meeting stops its recording.  Idempotent: an event seen
        again (by id) is skipped, and a recording that stopped already is left alone."""
        if not isinstance(event, ENDING) or event.event_id in self._handled:
            return
        async with self.uow() as uow:
            active = await uow.recordings.active_for_meeting(MeetingId(event.meeting_id))
        if active is not None and active.state is not RecordingState.STOPPING:
            self._stopping.add(active.id)
            try:
                stopped = await self._change(active.id, lambda r: r.stop(by=None, now=self.clock.now()))
            except e.RecordingNotActive:
                pass
            else:
                await self._finish_stopped(stopped)
            finally:
                self._stopping.discard(active.id)
        self._handled[event.event_id] = None
        while len(self._handled) > 10_000:
            self._handled.popitem(last=False)

    # -- reading -----------------------------------------------------------------------------------

    async def get(self, actor: Actor, recording_id: RecordingId) -> RecordingDetails:
        """With a download link per file, valid for ``link_ttl``.  Who may see (RecordingsHidden): see
        domain/recordings/access.py."""
        async with self.uow() as uow:
            recording = await uow.recordings.get(recording_id)
            require_viewer(actor, recording.meeting_id, await meeting_or_none(uow, recording.meeting_id))
        return RecordingDetails(recording=recording, links=tuple(await self._links(recording)))

    async def list_for_meeting(self, actor: Actor, meeting_id: MeetingId) -> list[Recording]:
        async with self.uow() as uow:
            require_viewer(actor, meeting_id, await meeting_or_none(uow, meeting_id))
            return await uow.recordings.list_for_meeting(meeting_id)

    async def open_download(self, key: str, filename: str, expires: int, signature: str) -> BlobInfo:
        """What an app-signed link (``links``) names, once its signature and expiry are checked
        (DownloadLinkInvalid); BlobNotFound when the file was deleted since."""
        self.links.verify(key, filename, expires, signature, self.clock.now())
        return await self.blobs.stat(key)

    async def read(self, key: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of a file whose link ``open_download`` accepted."""
        return await self.blobs.read(key, start, end)

    # -- deleting ----------------------------------------------------------------------------------

    async def delete(self, actor: Actor, recording_id: RecordingId) -> None:
        """Rules: host, co-hosts and administrators; only an ended recording (RecordingStillActive
        otherwise).  The objects go first, then the row with RecordingDeleted: a failure in between
        leaves a row whose delete can be repeated, never a row pointing at half its files silently."""
        async with self.uow() as uow:
            recording = await uow.recordings.get(recording_id)
            require_manager_of(actor, recording, await meeting_or_none(uow, recording.meeting_id))
        recording.delete(by=actor.user_id, now=self.clock.now())
        for pending in await self.blobs.pending_uploads(recording.key_prefix + "/"):
            await self.blobs.abort_upload(pending.key, pending.upload_id)
        keys = {f.key for f in recording.files} | {b.key for b in await self.blobs.list(recording.key_prefix + "/")}
        for key in sorted(keys):
            await self.blobs.delete(key)
        async with self.uow() as uow:
            await uow.recordings.delete(recording_id)
            uow.collect(*recording.pull_events())
            await uow.commit()

    # -- processing and recovery -------------------------------------------------------------------

    async def process(self, recording_id: RecordingId) -> Recording:
        """The after-meeting step: one meeting file from the participants' files, progress saved as it
        goes; completed, or failed with the processor's reason.  Its lease is renewed meanwhile."""
        self._processing.add(recording_id)
        try:
            return await self._process(recording_id)
        finally:
            self._processing.discard(recording_id)

    async def _process(self, recording_id: RecordingId) -> Recording:
        async with self.uow() as uow:
            recording = await uow.recordings.get(recording_id)
        if recording.state is not RecordingState.PROCESSING:
            return recording
        files = [f for f in recording.files if f.user_id is not None]
        if not files:
            return await self._change(recording_id, lambda r: r.complete(None, now=self.clock.now()))
        saved = [recording.progress]

        async def progress(fraction: float) -> None:
            if fraction - saved[0] < PROGRESS_STEP:
                return
            saved[0] = fraction
            try:
                await self._change(recording_id, lambda r: r.report_progress(fraction),
                                   when=lambda r: r.state is RecordingState.PROCESSING)
            except DomainError:
                log.warning("could not save the processing progress", extra={"recording_id": recording_id})

        out_key = f"{recording.key_prefix}/meeting.webm"
        try:
            for attempt in range(1, self.processing_attempts + 1):
                try:
                    meeting_file = await self.processor.compose(files, out_key, progress)
                    break
                except Unavailable:
                    # The blob store is away for a moment: the inputs are safe there, so try again.
                    if attempt == self.processing_attempts:
                        raise
                    await asyncio.sleep(self.retry_delay * attempt)
        except DomainError as err:
            return await self._fail(recording_id, f"processing failed: {err.message}")
        except Exception as err:
            log.exception("processing failed", extra={"recording_id": recording_id})
            return await self._fail(recording_id, f"processing failed: {type(err).__name__}")
        return await self._change(recording_id, lambda r: r.complete(meeting_file, now=self.clock.now()),
                                  when=lambda r: r.state is RecordingState.PROCESSING)

    async def recover_unfinished(self) -> list[Recording]:
        """At start-up and then now and again: recordings a stopped process left in starting, recording
        or stopping get their files back from what was uploaded (RoomRecorder.recover) and are
        processed; those in processing are processed again.  What cannot be recovered is marked failed
        with the reason.  Only recordings whose lease this process claims are touched: never one another
        live process renews, nor one this process runs or processes."""
        running = set(await self.recorder.recording()) | self._processing
        now = self.clock.now()
        async with self.uow() as uow:
            unfinished = [r for r in await uow.recordings.list_unfinished()
                          if r.id not in running and not r.held_by_other(self.instance, now)]
        done = []
        for recording in unfinished:
            try:
                if await self._claim(recording.id):
                    done.append(await self._recover(recording))
            except DomainError as err:
                log.warning("recovery failed", extra={"recording_id": recording.id, "error": err.code})
        return done

    async def heartbeat(self) -> list[Recording]:
        """Renews the lease of every recording this process records or processes (call it well within
        ``lease``), and stops the recorder of those another process has set stopping meanwhile (a stop
        or a meeting's end handled there).  Returns the recordings it stopped."""
        until = self.clock.now() + self.lease
        stopped = []
        recording = set(await self.recorder.recording())
        for recording_id in sorted(recording | self._processing):
            try:
                async with self.uow() as uow:
                    state = await uow.recordings.renew_lease(recording_id, self.instance, until)
                    found = await uow.recordings.get(recording_id) if state is RecordingState.STOPPING else None
                if found is not None and recording_id in recording and recording_id not in self._stopping:
                    self._stopping.add(recording_id)
                    try:
                        # Asked again once this process holds the mark: a stop here may have finished
                        # the recorder while the lease was renewed, and ``recording`` is from before.
                        if recording_id in await self.recorder.recording():
                            stopped.append(await self._stop_recorder(found))
                    finally:
                        self._stopping.discard(recording_id)
                elif state is None and recording_id in recording:
                    # Ended meanwhile, or claimed by a process that took this one for dead (its recovery
                    # owns the files now): recording on would only race it.
                    log.error("lost the lease of a recording it runs; stopping its recorder",
                              extra={"recording_id": recording_id})
                    await self.recorder.stop(recording_id)
            except DomainError as err:
                log.warning("could not renew a recording's lease",
                            extra={"recording_id": recording_id, "error": err.code})
        return stopped

    async def drain(self) -> None:
        """Waits for the background processing jobs started so far (tests, and a clean shutdown)."""
        while self._jobs:
            await asyncio.gather(*list(self._jobs), return_exceptions=True)

    # -- helpers -----------------------------------------------------------------------------------

    async def _claim(self, recording_id: RecordingId) -> bool:
        now = self.clock.now()
        async with self.uow() as uow:
            return await uow.recordings.claim_lease(recording_id, self.instance, now + self.lease, now)

    async def _finish_stopped(self, stopped: Recording) -> Recording:
        """After a stop was committed: this process's recorder finishes the files when it runs the
        recording (or owns it: its own earlier life is recover_unfinished's business); when another live
        process does, that one's heartbeat will; when nobody does any more (the owner died), this process
        claims it and recovers the files from what was uploaded."""
        if stopped.owner in (None, self.instance) or stopped.id in await self.recorder.recording():
            return await self._stop_recorder(stopped)
        if stopped.held_by_other(self.instance, self.clock.now()) or not await self._claim(stopped.id):
            return stopped
        return await self._recover(stopped)

    async def _recover(self, recording: Recording) -> Recording:
        if recording.state is RecordingState.PROCESSING:
            return await self.process(recording.id)
        try:
            files = await self.recorder.recover(recording.id, recording.key_prefix)
        except DomainError as err:
            return await self._fail(recording.id, f"the recording could not be recovered after a restart: {err.message}")
        if not files:
            return await self._fail(recording.id, "the server stopped before any media of this recording was saved")

        def finish(r: Recording) -> None:
            if r.state in (RecordingState.STARTING, RecordingState.RECORDING):
                r.stop(by=None, now=self.clock.now())
            r.files_recorded(files)

        await self._change(recording.id, finish, when=lambda r: r.state.is_active)
        return await self.process(recording.id)

    async def _stop_recorder(self, recording: Recording) -> Recording:
        try:
            files = await self.recorder.stop(recording.id)
        except DomainError as err:
            return await self._fail(recording.id, f"the recorder could not finish the files: {err.message}")
        if recording.state is not RecordingState.STOPPING:
            return recording
        processing = await self._change(recording.id, lambda r: r.files_recorded(files),
                                        when=lambda r: r.state is RecordingState.STOPPING)
        if processing.state is RecordingState.PROCESSING:
            job = asyncio.create_task(self.process(recording.id), name=f"recording-processing-{recording.id}")
            self._jobs.add(job)
            job.add_done_callback(self._jobs.discard)
        return processing

    async def _fail(self, recording_id: RecordingId, reason: str) -> Recording:
        return await self._change(recording_id, lambda r: r.fail(reason, now=self.clock.now()),
                                  when=lambda r: not r.state.is_terminal)

    async def _change(self, recording_id: RecordingId, change: Callable[[Recording], None],
                      when: Callable[[Recording], bool] | None = None) -> Recording:
        """Load, change, save and commit, again on a fresh load when another unit won; ``when`` False
        leaves the recording as it is (someone else moved it on meanwhile)."""
        for _ in range(ATTEMPTS):
            try:
                async with self.uow() as uow:
                    recording = await uow.recordings.get(recording_id)
                    if when is not None and not when(recording):
                        return recording
                    change(recording)
                    await uow.recordings.save(recording)
                    await uow.commit()
                    return recording
            except ConcurrentModification:
                await asyncio.sleep(0)
        raise ConcurrentModification("the recording keeps changing; try again", recording_id=recording_id)

    async def _links(self, recording: Recording) -> list[FileLink]:
        expires_at = self.clock.now() + self.link_ttl
        out = []
        for f in recording.files:
            name = f.key.rsplit("/", 1)[-1]
            try:
                url = await self.blobs.download_url(f.key, self.link_ttl, filename=name)
            except BlobNotFound:
                log.warning("a recorded file is missing", extra={"recording_id": recording.id, "key": f.key})
                continue
            out.append(FileLink(file=f, url=url or self.links.sign(f.key, name, expires_at), expires_at=expires_at))
        return out
