from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from domain.rooms.events import AccessRevoked, RoomEvent
from domain.rooms.model import Admission, MediaState, Member
from domain.rooms.recording import ActiveRecording
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId, UserId


class RoomPresence(Protocol):
    """Who is in which room, shared by every signaling process.  Each member has a deadline; a
    member whose deadline passed is gone (``members`` never returns it) and is handed out once by
    ``reap``.

    - ``enter`` stores the member (replacing any earlier connection of the same user) and returns the
      member it replaced, or None when the user was not in the room.
    - ``renew`` moves the deadline of the member if ``connection_id`` is still its connection; returns
      False otherwise (replaced or gone).
    - ``set_media`` updates the media state of the user's current connection; None if not present.
    - ``remove`` removes the user (only if ``connection_id`` matches, when given) and returns the removed
      member, or None; of two racing removals exactly one gets the member.
    - ``reap`` removes members whose deadline is at or before ``now`` and returns them with their room;
      each expired member is returned by exactly one call, across processes.
    - ``clear`` removes every member of a room and returns them.

    It also counts each user's open signaling sockets across processes (whether in a room or not),
    with deadlines like members':
    - ``claim_socket`` registers the socket and returns True if the user has fewer than ``limit``
      sockets whose deadline is after ``now`` (or this socket is one of them); False otherwise,
      registering nothing.  Of concurrent claims, at most ``limit`` succeed.
    - ``renew_sockets`` moves the deadline of each registered socket (unknown ones stay unknown).
    - ``release_socket`` forgets the socket (nothing happens for an unknown one).
    Any method may raise Unavailable.
    """

    async def enter(self, room_id: MeetingId, member: Member, deadline: dt.datetime) -> Member | None: ...
    async def renew(self, room_id: MeetingId, user_id: UserId, connection_id: str, deadline: dt.datetime) -> bool: ...
    async def set_media(self, room_id: MeetingId, user_id: UserId, connection_id: str,
                        media: MediaState) -> Member | None: ...
    async def remove(self, room_id: MeetingId, user_id: UserId, connection_id: str | None = None) -> Member | None: ...
    async def members(self, room_id: MeetingId, now: dt.datetime) -> list[Member]: ...
    async def reap(self, now: dt.datetime, limit: int = 100) -> list[tuple[MeetingId, Member]]: ...
    async def clear(self, room_id: MeetingId) -> list[Member]: ...
    async def claim_socket(self, user_id: UserId, socket_id: str, limit: int, now: dt.datetime,
                           deadline: dt.datetime) -> bool: ...
    async def renew_sockets(self, sockets: Sequence[tuple[UserId, str]], now: dt.datetime,
                            deadline: dt.datetime) -> None: ...
    async def release_socket(self, user_id: UserId, socket_id: str) -> None: ...


RoomHandler = Callable[[RoomEvent], Awaitable[None]]
RevocationHandler = Callable[[AccessRevoked], Awaitable[None]]


class SignalBus(Protocol):
    """Fans typed room events out to every signaling process.  At-most-once and ordered per room per
    publisher (signals are ephemeral: a client that misses one renegotiates).

    - ``listen(room_id, handler)`` is an async context manager: while inside, ``handler`` gets every
      event published to that room, including this process's own, equal to what was published.
    - ``broadcast`` / ``listen_revocations``: the same for AccessRevoked notices, which are of no room
      (every listening process gets every notice).
    Any method may raise Unavailable.
    """

    async def publish(self, event: RoomEvent) -> None: ...
    def listen(self, room_id: MeetingId, handler: RoomHandler) -> AbstractAsyncContextManager[None]: ...
    async def broadcast(self, notice: AccessRevoked) -> None: ...
    def listen_revocations(self, handler: RevocationHandler) -> AbstractAsyncContextManager[None]: ...


class MeetingAccess(Protocol):
    """The meeting domain as signaling sees it (in-process today, gRPC when the services split).

    - ``admit`` joins the meeting if needed (all of Meeting.join's rules) and returns the admission;
      raises the meeting domain's errors (MeetingNotFound, KickedFromMeeting, MeetingFull, ...).
    - ``depart`` leaves the meeting; does nothing if the user already left or the meeting is over.
    - ``require_manager`` returns if the actor is the meeting's host, a co-host or an administrator;
      raises NotMeetingHost otherwise, MeetingNotFound for an unknown meeting.
    """

    async def admit(self, actor: Actor, meeting_id: MeetingId, password: str | None) -> Admission: ...
    async def depart(self, actor: Actor, meeting_id: MeetingId) -> None: ...
    async def require_manager(self, actor: Actor, meeting_id: MeetingId) -> None: ...


class RecordingStatus(Protocol):
    """Whether a room is being recorded now (starting or recording), for people who join mid-recording.
    May raise Unavailable."""

    async def active(self, room_id: MeetingId) -> ActiveRecording | None: ...
