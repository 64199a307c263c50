"""``AiortcMediaServer``: the MediaServer port on aiortc, forwarding encoded media (no transcoding).

Rooms hold one ``SfuPeer`` per participant. When the set of published tracks in a room changes (a
participant's offer was applied, a participant left or its connection failed), every other
participant renegotiates to receive exactly the tracks of the others.  A participant's offer marked
``restart`` (an ICE restart after a network change, docs/signaling.md 13.12) swaps its connection in
place instead: the others' m-lines of its tracks follow the new connection, nobody else renegotiates. Each room also runs an active
speaker loop over its publishers' audio (the ssrc-audio-level extension when negotiated, else the
Opus frame size). Everything lives in this process: a participant's media goes to the SFU of the
process that holds its signaling socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCBundlePolicy

from adapters.webrtc.assembly import EncodedFrame
from adapters.webrtc.forwarding import PublishedTrack
from adapters.webrtc.layer_control import BandwidthSettings
from adapters.webrtc.negotiation_input import NegotiationLimits, checked_answer, checked_offer
from adapters.webrtc.sfu_peer import PUBLISH_MAX_BPS, SfuPeer
from domain.rooms.errors import InvalidSignal
from domain.rooms.layers import TileSize
from domain.rooms.media import ParticipantMediaStats
from domain.rooms.preferences import NO_PREFERENCES, MediaPreferences, PreferencesChange
from domain.rooms.speaker import ActiveSpeakerDetector, loudness_from_level, loudness_from_size
from domain.shared.ids import MeetingId, UserId
from ports.media import MediaSignals

log = logging.getLogger(__name__)
SPEAKER_TICK = 0.25


def rtc_configuration(ice_servers: Sequence[Mapping[str, Any]]) -> RTCConfiguration:
    """APP_ICE_SERVERS entries ({"urls", "username"?, "credential"?}); an empty list means host
    candidates only (aiortc would otherwise add a public STUN server)."""
    servers = [RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
               for s in ice_servers]
    return RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


MAX_LAST_N = 100
MAX_PINNED = 16
MAX_VIDEO_SIZES = 64
MAX_TILE_SIDE = 16_384


def media_preferences(payload: Mapping[str, Any]) -> PreferencesChange:
    """What a ``media_preferences`` signal changes (docs/signaling.md 13.9, 13.11): each of ``last_n``,
    ``pinned`` and ``video_sizes`` it carries, checked; InvalidSignal when one is malformed (then nothing
    changes)."""
    change: dict[str, Any] = {}
    if "last_n" in payload:
        last_n = payload["last_n"]
        if last_n is not None and (isinstance(last_n, bool) or not isinstance(last_n, int)
                                   or not 0 <= last_n <= MAX_LAST_N):
            raise InvalidSignal(f"last_n must be null or a whole number from 0 to {MAX_LAST_N}", field="last_n")
        change["last_n"] = last_n
    if "pinned" in payload:
        pinned = payload["pinned"]
        if not isinstance(pinned, list) or len(pinned) > MAX_PINNED or not all(isinstance(u, str) for u in pinned):
            raise InvalidSignal(f"pinned must be a list of at most {MAX_PINNED} user ids", field="pinned")
        change["pinned"] = frozenset(UserId(u) for u in pinned)
    if "video_sizes" in payload:
        change["video_sizes"] = video_sizes(payload)
    return PreferencesChange(**change)


def video_sizes(payload: Mapping[str, Any]) -> dict[str, TileSize]:
    """The ``video_sizes`` of a ``media_preferences`` signal (docs/signaling.md 13.11): the size the member
    renders each forwarded video at, keyed ``<user id>`` (camera) or ``<user id>:screen``; InvalidSignal
    for anything else."""
    raw = payload.get("video_sizes")
    problem = (f"video_sizes must map at most {MAX_VIDEO_SIZES} \"<user id>\" or \"<user id>:screen\" keys to "
               f"{{\"width\", \"height\"}}, whole numbers from 1 to {MAX_TILE_SIDE}")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or len(raw) > MAX_VIDEO_SIZES:
        raise InvalidSignal(problem, field="video_sizes")
    sizes: dict[str, TileSize] = {}
    for key, size in raw.items():
        user, _, label = str(key).partition(":")
        if (not isinstance(key, str) or not 1 <= len(user) <= 64 or label not in ("", "screen")
                or not isinstance(size, Mapping) or set(size) != {"width", "height"}
                or not all(isinstance(size[d], int) and not isinstance(size[d], bool)
                           and 1 <= size[d] <= MAX_TILE_SIDE for d in ("width", "height"))):
            raise InvalidSignal(problem, field="video_sizes")
        sizes[key] = TileSize(size["width"], size["height"])
    return sizes


class MediaWatcher(Protocol):
    """Sees each member's published tracks as they come, their continuation across a restart, and each
    member's departure (leave, kick, failed connection, room closed); the recorder is one.  Called
    synchronously: must not block."""

    def track_published(self, room_id: MeetingId, user_id: UserId, track: PublishedTrack) -> None: ...
    def member_left(self, room_id: MeetingId, user_id: UserId) -> None: ...

    def track_continued(self, room_id: MeetingId, user_id: UserId, previous: PublishedTrack,
                        track: PublishedTrack) -> None:
        """The member restarted its connection (docs/signaling.md 13.12): ``track`` (a new RTP stream:
        its own SSRC, clock and encoder) goes on where ``previous`` (now ending) stopped, as the same
        section of the same member.  No ``member_left`` comes for the restart."""
        ...


class SfuRoom:
    def __init__(self, server: AiortcMediaServer, room_id: MeetingId) -> None:
        self.server = server
        self.room_id = room_id
        self.peers: dict[UserId, SfuPeer] = {}
        self.speaker = ActiveSpeakerDetector(hold=server.speaker_hold)
        self.announced: UserId | None = None
        self.recent_speakers: list[UserId] = []  # most recent first: the order of last-N
        # Audio/video sections each member's offers have published here: every one is an m-line in
        # every other member's connection for the room's lifetime (never removed), hence the cap.
        self.sections_published: dict[UserId, int] = {}
        self.restarts = 0  # connections restarted in place (offer with restart, docs/signaling.md 13.12)
        self.restarting: dict[UserId, SfuPeer] = {}  # the new connection of each restart being negotiated
        self.closed = False
        self._speaker_task = asyncio.create_task(self._announce_speakers(), name=f"sfu-speaker-{room_id}")

    async def offer(self, user_id: UserId, sdp: str, restart: bool = False) -> None:
        """The member's first offer of a new connection.  It replaces the member's current connection, if
        any: as a departure and a new arrival (the others' m-lines of its tracks go inactive, new ones are
        offered), or with ``restart`` (docs/signaling.md 13.12) in place: see ``_restart``."""
        limits = self.server.limits
        sdp, publishing = checked_offer(sdp, limits)
        old = self.peers.get(user_id) if restart else None
        used = self.sections_published.get(user_id, 0)
        # A restart re-uses the m-lines the old connection's sections have in the others' connections.
        charged = publishing if old is None else max(0, publishing - len(old.published))
        if used + charged > limits.max_sections_per_member:
            raise InvalidSignal(f"you have published {used} media sections in this meeting; at most "
                                f"{limits.max_sections_per_member} are allowed", field="sdp",
                                limit=limits.max_sections_per_member)
        self.sections_published[user_id] = used + charged  # counted before any await: no race
        if old is None and (user_id in self.peers or user_id in self.restarting):
            await self.remove(user_id)  # a participant offers once per connection: this is a new one
        if self.closed:  # the room's media closed meanwhile (the meeting ended): nothing to connect to
            return
        pc = RTCPeerConnection(self.server.configuration)
        held: list[PublishedTrack] = []  # a restart's tracks reach the watchers once it takes the old one's place
        bandwidth = self.server.bandwidth
        peer = SfuPeer(f"{self.room_id}/{user_id}", user_id, pc, self._send, self._on_audio,
                       self.server.resend_after, limits.max_sections_per_connection,
                       self._published if old is None else lambda _, track: held.append(track),
                       layers=bandwidth.controller() if bandwidth is not None else None,
                       layer_tick=bandwidth.tick if bandwidth is not None else 0.25,
                       publish_max_bps=self.server.publish_max_bps)
        if old is None:
            self.peers[user_id] = peer
        else:  # not a member's connection until it takes the old one's place; a removal meanwhile cancels it
            self.restarting[user_id] = peer
        pc.on("connectionstatechange", lambda: self._connection_changed(peer))
        try:
            await peer.accept_offer(sdp)
        except BaseException:
            if old is None:
                if self.peers.get(user_id) is peer:
                    await self.remove(user_id)
                await peer.close()
            else:  # the old connection stays as it was
                if self.restarting.get(user_id) is peer:
                    del self.restarting[user_id]
                self._refund(user_id, charged)
                await peer.close()
                self._connection_changed(old)  # its failure meanwhile waited for this restart
            raise
        if old is not None:
            await self._restart(old, peer, held, charged)
        self.tracks_changed()

    async def _restart(self, old: SfuPeer, new: SfuPeer, held: list[PublishedTrack], charged: int) -> None:
        """ICE restart by a new connection (aiortc cannot restart ICE on an existing one): ``new`` takes
        ``old``'s place with nothing else changing.  Its sections continue the old ones (same timestamps,
        picture ids) on the m-lines every other member already has: each of their subscriptions to the old
        tracks is retargeted (same sender, SSRC and m-line, from the next keyframe), so nobody else gets an
        SFU offer.  The member's own subscriptions come back in the SFU's offer on the new connection; its
        preferences and place among the speakers stay.  Watchers (the recorder, captions) are told that
        each new track continues an old one (one recording file goes on); a section with no old
        counterpart is published as new.  Nobody's membership changes.

        A removal of the member while the new connection was being negotiated (a kick, a leave, the room
        closing) wins: the new connection is closed and nothing of it reaches the room."""
        user_id = old.user_id
        if self.restarting.get(user_id) is not new:
            self._refund(user_id, charged)
            await new.close()
            log.info("SFU restart dropped: the member was removed (or restarted again) meanwhile",
                     extra={"peer": new.name})
            return
        # Registered still: nothing removed or replaced the member meanwhile (both drop the registration),
        # so ``old`` is its connection.
        del self.restarting[user_id]
        new.on_published = self._published
        continued: dict[PublishedTrack, PublishedTrack] = {}
        for label, track in new.published.items():
            previous = old.published.get(label)
            if previous is not None:
                track.continue_from(previous)
                continued[track] = previous
        moved = sum(peer.republished(user_id, new.published) for peer in self.peers.values() if peer is not old)
        self.peers[user_id] = new
        for track in held:
            if track in continued:
                self._continued(user_id, continued[track], track)
            else:
                self._published(user_id, track)
        self.restarts += 1
        log.info("SFU connection restarted in place", extra={"peer": new.name, "retargeted": moved})
        await old.close()

    def _refund(self, user_id: UserId, charged: int) -> None:
        self.sections_published[user_id] = max(0, self.sections_published.get(user_id, 0) - charged)

    def tracks_changed(self) -> None:
        for peer in self.peers.values():
            peer.want_renegotiation(self._desired_for(peer.user_id))
        self.apply_last_n()

    def speaker_order(self) -> list[UserId]:
        """Members by how recently they were the active speaker; those never announced follow, in
        the order they joined."""
        spoken = [u for u in self.recent_speakers if u in self.peers]
        return spoken + [u for u in self.peers if u not in spoken]

    def last_n_for(self, user_id: UserId) -> set[UserId] | None:
        """Whose cameras ``user_id`` gets (None: everyone's): its pinned members that publish a camera,
        then the most recent speakers, up to its N (pins beyond N all stay)."""
        chosen_by = self.server.preferences.get((self.room_id, user_id), NO_PREFERENCES)
        n = self.server.last_n if chosen_by.last_n is None else chosen_by.last_n
        if n <= 0:
            return None
        cameras = [u for u in self.speaker_order() if u != user_id and "video" in self.peers[u].published]
        chosen = [u for u in cameras if u in chosen_by.pinned]
        chosen += [u for u in cameras if u not in chosen_by.pinned][:max(0, n - len(chosen))]
        return set(chosen)

    def apply_last_n(self) -> None:
        ranks = {u: i for i, u in enumerate(self.recent_speakers)}
        for peer in self.peers.values():
            chosen_by = self.server.preferences.get((self.room_id, peer.user_id), NO_PREFERENCES)
            peer.pinned, peer.tile_sizes = chosen_by.pinned, chosen_by.video_sizes
            peer.speaker_rank = ranks.get
            peer.allow_video(self.last_n_for(peer.user_id))

    def _desired_for(self, user_id: UserId) -> dict[tuple[UserId, str], PublishedTrack]:
        return {(other.user_id, key): track for other in self.peers.values() if other.user_id != user_id
                for key, track in other.published.items()}

    async def remove(self, user_id: UserId) -> None:
        self.restarting.pop(user_id, None)  # a restart being negotiated is dropped when it completes
        peer = self.peers.pop(user_id, None)
        if peer is None:
            return
        self.speaker.forget(user_id)
        self._left(user_id)
        await peer.close()
        self.tracks_changed()

    async def close(self) -> None:
        self.closed = True
        self.restarting.clear()
        self._speaker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._speaker_task
        for user_id in list(self.peers):
            peer = self.peers.pop(user_id)
            self._left(user_id)
            await peer.close()

    def _published(self, user_id: UserId, track: PublishedTrack) -> None:
        for watcher in self.server.watchers:
            watcher.track_published(self.room_id, user_id, track)

    def _continued(self, user_id: UserId, previous: PublishedTrack, track: PublishedTrack) -> None:
        for watcher in self.server.watchers:
            watcher.track_continued(self.room_id, user_id, previous, track)

    def _left(self, user_id: UserId) -> None:
        for watcher in self.server.watchers:
            watcher.member_left(self.room_id, user_id)

    def _connection_changed(self, peer: SfuPeer) -> None:
        # A connection that fails while its restart is negotiated is about to be replaced: the restart
        # decides (``_check_connection`` if it fails).
        if peer.user_id not in self.restarting:
            self._check_connection(peer)

    def _check_connection(self, peer: SfuPeer) -> None:
        # "closed": the member closed its side (DTLS close_notify), and aiortc then closes ours.
        state = peer.pc.connectionState
        if state in ("failed", "closed") and self.peers.get(peer.user_id) is peer and not peer.closed:
            log.info("SFU connection %s: removing the participant", state, extra={"peer": peer.name})
            self.server.spawn(self.server.remove(self.room_id, peer.user_id), f"sfu-remove-{peer.name}")

    async def _send(self, user_id: UserId, kind: str, payload: dict[str, Any]) -> None:
        await self.server.signals.to_member(self.room_id, user_id, kind, payload)

    def _on_audio(self, user_id: UserId, frame: EncodedFrame) -> None:
        loudness = (loudness_from_level(frame.audio_level) if frame.audio_level is not None
                    else loudness_from_size(len(frame.data)))
        self.speaker.observe(user_id, loudness, time.monotonic())

    async def _announce_speakers(self) -> None:
        while True:
            await asyncio.sleep(SPEAKER_TICK)
            speaker = self.speaker.decide(time.monotonic())
            if speaker is not None and speaker != self.announced and speaker in self.peers:
                self.announced = speaker
                self.recent_speakers = [speaker, *(u for u in self.recent_speakers if u != speaker)]
                self.apply_last_n()
                try:
                    await self.server.signals.active_speaker(self.room_id, speaker)
                except Exception:
                    log.warning("could not announce the active speaker", extra={"room_id": self.room_id})


class AiortcMediaServer:
    """MediaServer on aiortc (see ports/media.py). Tasks it starts are named ``sfu-*``."""

    def __init__(self, signals: MediaSignals, ice_servers: Sequence[Mapping[str, Any]] = (), *,
                 speaker_hold: float = 1.5, resend_after: float = 10.0,
                 limits: NegotiationLimits = NegotiationLimits(), last_n: int = 0,
                 bandwidth: BandwidthSettings | None = BandwidthSettings(),
                 publish_max_bps: int | None = PUBLISH_MAX_BPS) -> None:
        self.signals = signals
        self.publish_max_bps = publish_max_bps  # REMB and x-google-max-bitrate to publishers (None: aiortc's REMB)
        self.last_n = last_n  # cameras forwarded to each member in a room (0: all); members may choose
        # (room, member) -> its own N, pins and tile sizes, as its media_preferences changed them
        self.preferences: dict[tuple[MeetingId, UserId], MediaPreferences] = {}
        self.bandwidth = bandwidth  # None: no estimate, every video at the publisher's top layer
        self.limits = limits
        self.configuration = rtc_configuration(ice_servers)
        self.speaker_hold = speaker_hold
        self.resend_after = resend_after
        self.rooms: dict[MeetingId, SfuRoom] = {}
        self.watchers: list[MediaWatcher] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def signal(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None:
        if kind == "offer":
            room = self.rooms.get(room_id)
            if room is None:
                room = self.rooms[room_id] = SfuRoom(self, room_id)
            try:
                await room.offer(user_id, str(payload["sdp"]), restart=payload.get("restart") is True)
            finally:
                if not room.peers and self.rooms.get(room_id) is room:
                    del self.rooms[room_id]
                    await room.close()
            return
        room = self.rooms.get(room_id)
        if kind == "media_preferences":
            change = media_preferences(payload)
            self.preferences[(room_id, user_id)] = change.applied_to(
                self.preferences.get((room_id, user_id), NO_PREFERENCES))
            if room is not None:
                room.apply_last_n()
            return
        peer = room.peers.get(user_id) if room is not None else None
        if kind == "answer":
            if peer is None:
                raise InvalidSignal("the SFU is not waiting for an answer from you", field="sdp")
            await peer.accept_answer(checked_answer(str(payload["sdp"]), self.limits))
        elif kind == "ice_candidate" and peer is not None:
            await peer.add_candidate(payload["candidate"], self.limits)

    async def remove(self, room_id: MeetingId, user_id: UserId, connection: str | None = None) -> None:
        # ``connection`` is not needed here: this SFU belongs to one process, whose LocalMedia already tells
        # an older connection's removal from the current one's (a node shared by processes: MediaNode).
        self.preferences.pop((room_id, user_id), None)
        room = self.rooms.get(room_id)
        if room is None:
            return
        await room.remove(user_id)
        if not room.peers and self.rooms.get(room_id) is room:
            del self.rooms[room_id]
            await room.close()

    async def close_room(self, room_id: MeetingId) -> None:
        for key in [k for k in self.preferences if k[0] == room_id]:
            del self.preferences[key]
        room = self.rooms.pop(room_id, None)
        if room is not None:
            await room.close()

    async def stats(self, room_id: MeetingId) -> list[ParticipantMediaStats]:
        room = self.rooms.get(room_id)
        return [] if room is None else [await peer.stats() for peer in list(room.peers.values())]

    async def close(self) -> None:
        for room_id in list(self.rooms):
            await self.close_room(room_id)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def connection_count(self) -> int:
        return sum(len(room.peers) for room in self.rooms.values())
