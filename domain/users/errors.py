from __future__ import annotations

from domain.shared.errors import (
    AlreadyExists,
    DomainError,
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


class LinkInvalid(InvalidArgument):
    """A verification or reset link that is malformed, unknown, expired, used, or no longer matches the
    account: one error for all, so a link tells nothing about the account."""


class TooManyLinkRequests(RateLimited):
    pass


class EmailAlreadyVerified(DomainError):
    """Nothing to verify (a failed precondition)."""
