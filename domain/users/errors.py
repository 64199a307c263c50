from __future__ import annotations

from domain.shared.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)


class UserNotFound(NotFound):
    pass


class UsernameTaken(AlreadyExists):
    pass


class EmailTaken(AlreadyExists):
    pass


class InvalidUserData(InvalidArgument):
    """A username, email, display name or password breaks the user rules; ``field`` says which."""


class WeakPassword(InvalidArgument):
    pass


class InvalidCredentials(Unauthenticated):
    """Unknown user or wrong password: deliberately one error so accounts cannot be enumerated."""


class InvalidToken(Unauthenticated):
    """Malformed, expired, revoked or rotated token."""


class UserBanned(PermissionDenied):
    pass


class NotAllowed(PermissionDenied):
    """The caller may not act on this user (not self, not admin)."""


class TooManyLoginAttempts(RateLimited):
    pass


class TooManyRegistrations(RateLimited):
    pass


class PasswordHashingBusy(RateLimited):
    """More password hashing is queued than the server takes on; ``retry_after`` says when to retry."""
