"""Which user events end open signaling sockets: the one place that maps them (issue 9, class 8).

The user domain announces every revocation with one event, SessionsRevoked (logout, a reused refresh
token, ban, password or role change); the sockets that authenticated with those sessions must not
live on until the next periodic token check.
"""

from __future__ import annotations

from domain.rooms.events import AccessRevoked
from domain.shared.events import DomainEvent
from domain.shared.ids import UserId
from domain.users.events import SessionsRevoked


def revocation_for(event: DomainEvent) -> AccessRevoked | None:
    """One session when the event names it; otherwise every session of the user (the event's
    security version is above every session a socket of this user can hold at that moment)."""
    if isinstance(event, SessionsRevoked):
        return AccessRevoked(user_id=UserId(event.user_id), session_id=event.session_id)
    return None
