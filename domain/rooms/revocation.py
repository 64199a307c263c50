"""Which user events end open signaling sockets: the one place that maps them (issue 9, class 8).

The user domain revokes sessions on these (ban, logout, password or role change); the sockets that
authenticated with them must not live on until the next periodic token check.
"""

from __future__ import annotations

from domain.rooms.events import AccessRevoked
from domain.shared.events import DomainEvent
from domain.shared.ids import UserId
from domain.users.events import UserBanned, UserLoggedOut, UserUpdated

# A change of these fields revokes every session of the user (domain/users/service.py).
REVOKING_FIELDS = frozenset({"password", "role"})


def revocation_for(event: DomainEvent) -> AccessRevoked | None:
    match event:
        case UserBanned(user_id=user_id):
            return AccessRevoked(user_id=UserId(user_id))
        case UserLoggedOut(user_id=user_id, session_id=session_id):
            return AccessRevoked(user_id=UserId(user_id), session_id=session_id)
        case UserUpdated(user_id=user_id, fields=fields) if REVOKING_FIELDS & set(fields):
            return AccessRevoked(user_id=UserId(user_id))
    return None
