"""A meeting as the desktop window sees it, without Qt: who is there and what they send, their video
and audio tracks, chat, mute; driven by the signaling socket and the SFU connection.

The window subscribes with ``listener`` (a plain function receiving the events below, called on the
event loop's thread) and reads the state (``members``, ``tracks``, ``chat``) when told of a change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay
from attrs import define, field, frozen

from clients.desktop.api import ApiClient
from clients.desktop.media import SfuLink
from clients.desktop.signaling import Signaling

log = logging.getLogger(__name__)


@define
class Member:
    user_id: str
    display_name: str
    role: str
    audio: bool
    video: bool

    @classmethod
    def from_json(cls, m: dict[str, Any]) -> Member:
        return cls(m["user_id"], m["display_name"], m["role"], m["media"]["audio"], m["media"]["video"])


@frozen
class ChatMessage:
    message_id: str
    sender_id: str
    display_name: str
    text: str
    sent_at: str


# Events for the listener.
@frozen
class MembersChanged:
    pass


@frozen
class ChatReceived:
    message: ChatMessage


@frozen
class TrackAdded:
    user_id: str
    kind: str
    track: MediaStreamTrack


@frozen
class TrackRemoved:
    user_id: str
    kind: str


@frozen
class RoomEnded:
    """This client is no longer in the room: ``reason`` is left, kicked, ended, cancelled, deleted,
    expired, session_replaced, unauthenticated or disconnected."""

    reason: str


CLOSE_REASONS = {4001: "kicked", 4002: "session_replaced", 4401: "unauthenticated"}

Event = MembersChanged | ChatReceived | TrackAdded | TrackRemoved | RoomEnded


@define(eq=False)
class MeetingSession:
    """One meeting joined through the SFU. ``join`` opens the socket, joins the room and (with media
    tracks) offers to the SFU; ``leave`` undoes it all."""

    api: ApiClient
    listener: Callable[[Event], None] = lambda event: None
    room_id: str = ""
    me: Member | None = None
    members: dict[str, Member] = field(factory=dict)
    tracks: dict[tuple[str, str], MediaStreamTrack] = field(factory=dict)  # (user id, kind) -> remote track
    chat: list[ChatMessage] = field(factory=list)
    audio_on: bool = True
    video_on: bool = True
    local_video: MediaStreamTrack | None = None  # a relayed copy of the camera for the self-view
    ended: str | None = None
    reauths: int = 0  # access tokens renewed on the open socket (docs/signaling.md section 9.4)
    signaling: Signaling | None = None
    link: SfuLink | None = None
    _relay: MediaRelay = field(factory=MediaRelay)
    _tasks: set[asyncio.Task[Any]] = field(factory=set)
    _early: list[tuple[str, dict[str, Any]]] | None = None  # events received while joining

    async def join(self, meeting_id: str, password: str | None = None, *, audio: MediaStreamTrack | None = None,
                   video: MediaStreamTrack | None = None) -> None:
        assert self.api.account is not None, "sign in first"
        self.signaling = await Signaling.connect(self.api.session, self.api.signaling_url,
                                                 self.api.account.access_token, self._on_event)
        data: dict[str, Any] = {"room_id": meeting_id}
        if password:
            data["password"] = password
        self.room_id, self._early = meeting_id, []
        try:
            state = await self.signaling.request("join_room", data)
        except BaseException:
            self._early = None
            await self.signaling.close()
            raise
        self._spawn(self._keep_token())
        self._spawn(self._watch_socket(self.signaling))
        self.me = Member.from_json(state["self"])
        self.members = {m["user_id"]: Member.from_json(m) for m in state["members"]}
        # Events that followed room_state while this coroutine waited to resume apply on top of it.
        early, self._early = self._early, None
        for kind, event in early:
            self._on_event(kind, event)
        self.audio_on = self.me.audio
        if audio is None or video is None:  # signaling only (no devices): tell the room nothing is sent
            self.audio_on = self.video_on = self.me.audio = self.me.video = False
            await self._send_media_state()
            self.listener(MembersChanged())
            return
        self.listener(MembersChanged())
        self.local_video = self._relay.subscribe(video, buffered=False)
        self.link = SfuLink(state["ice_servers"], self._send_sdp, self._track_added, self._track_gone)
        await self.link.start(audio, self._relay.subscribe(video, buffered=False))
        self.link.set_audio(self.audio_on)

    async def set_audio(self, on: bool) -> None:
        """Mute (False) or unmute: stops or resumes sending audio, and tells the room (media_state)."""
        self.audio_on = on
        if self.me is not None:
            self.me.audio = on
        if self.link is not None:
            self.link.set_audio(on)
        await self._send_media_state()

    async def send_chat(self, text: str) -> ChatMessage:
        assert self.signaling is not None
        ack = await self.signaling.request("chat", {"room_id": self.room_id, "text": text})
        assert self.me is not None
        return ChatMessage(ack["message_id"], self.me.user_id, self.me.display_name, text.strip(), ack["sent_at"])

    async def leave(self) -> None:
        if self.signaling is not None and self.ended is None:
            try:
                await self.signaling.request("leave_room", {"room_id": self.room_id})
            except ConnectionError:
                pass
            self._end("left")
        await self.close()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.link is not None:
            await self.link.close()
            self.link = None
        if self.signaling is not None:
            await self.signaling.close()
            self.signaling = None

    # -- internals --------------------------------------------------------------------------------

    async def _send_media_state(self) -> None:
        assert self.signaling is not None
        await self.signaling.request("media_state", {"room_id": self.room_id, "audio": self.audio_on,
                                                     "video": self.video_on, "screen": False})

    async def _send_sdp(self, kind: str, sdp: str) -> None:
        assert self.signaling is not None and self.me is not None
        to = "00000000-0000-4000-8000-00000000f00d"
        await self.signaling.request(kind, {"room_id": self.room_id, "to": to, "sdp": sdp})

    async def _keep_token(self) -> None:
        """Renews the access token before it expires and gives the socket the new one (else the server
        closes it with 4401 when the old one expires)."""
        while self.signaling is not None and self.ended is None:
            await asyncio.sleep(max(0.0, self.api.renew_due()))
            account = await self.api.renew()
            if self.signaling is not None and self.signaling.token != account.access_token:
                await self.signaling.request("auth", {"token": account.access_token})
                self.signaling.token = account.access_token
                self.reauths += 1

    async def _watch_socket(self, signaling: Signaling) -> None:
        """A socket closed by the server (or the network) ends the session (no automatic resume in
        this version): the reason says why, by close code (docs/signaling.md section 6)."""
        code = await asyncio.shield(signaling.closed)
        self._end(CLOSE_REASONS.get(code, "disconnected"))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("session task failed", exc_info=task.exception())

    def _track_added(self, user_id: str, kind: str, track: MediaStreamTrack) -> None:
        self.tracks[(user_id, kind)] = track
        self.listener(TrackAdded(user_id, kind, track))

    def _track_gone(self, user_id: str, kind: str) -> None:
        self.tracks.pop((user_id, kind), None)
        self.listener(TrackRemoved(user_id, kind))

    def _end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
            self.listener(RoomEnded(reason))

    def _on_event(self, kind: str, data: dict[str, Any]) -> None:
        if data.get("room_id") not in (None, self.room_id):
            return
        if self._early is not None:
            self._early.append((kind, data))
            return
        if kind in ("offer", "answer") and self.link is not None:
            self._spawn(self.link.on_description(kind, data["sdp"]))
        elif kind == "member_joined":
            self.members[data["user_id"]] = Member.from_json(data)
            self.listener(MembersChanged())
        elif kind == "member_left":
            if self.members.pop(data["user_id"], None) is not None:
                self.listener(MembersChanged())
        elif kind == "media_state":
            member = self.members.get(data["user_id"])
            if member is not None:
                member.audio, member.video = data["audio"], data["video"]
                self.listener(MembersChanged())
        elif kind == "role_changed":
            member = self.members.get(data["user_id"]) or (self.me if self.me and self.me.user_id == data["user_id"]
                                                           else None)
            if member is not None:
                member.role = data["role"]
                self.listener(MembersChanged())
        elif kind == "chat":
            message = ChatMessage(data["message_id"], data["from"], data["display_name"], data["text"],
                                  data["sent_at"])
            if all(m.message_id != message.message_id for m in self.chat):
                self.chat.append(message)
                self.listener(ChatReceived(message))
        elif kind == "room_closed":
            self._end(data["reason"])
        elif kind in ("kicked", "session_replaced"):
            self._end(kind)
        elif kind == "removed":
            self._end(data["reason"])
