from __future__ import annotations

from domain.shared.errors import DomainError, ErrorKind, InvalidArgument, NotFound, PermissionDenied, RateLimited


class MeetingNotFound(NotFound):
    pass


class InvalidMeetingData(InvalidArgument):
    """A title, time, duration, capacity or setting breaks the rules; ``field`` says which."""


class MeetingEnded(DomainError):
    kind = ErrorKind.FAILED_PRECONDITION


class MeetingCancelled(DomainError):
    kind = ErrorKind.FAILED_PRECONDITION


class MeetingFull(DomainError):
    kind = ErrorKind.FAILED_PRECONDITION


class MeetingLocked(PermissionDenied):
    pass


class InvitationRequired(PermissionDenied):
    pass


class PasswordRequired(PermissionDenied):
    pass


class WrongMeetingPassword(PermissionDenied):
    pass


class KickedFromMeeting(PermissionDenied):
    pass


class NotMeetingHost(PermissionDenied):
    """The action needs the host (or a co-host where the rule allows it)."""


class NotAParticipant(DomainError):
    kind = ErrorKind.FAILED_PRECONDITION


class InvalidMeetingAction(DomainError):
    """The action makes no sense on this target (kick the host, promote oneself, ...)."""

    kind = ErrorKind.FAILED_PRECONDITION


class MeetingHidden(PermissionDenied):
    """An invite-only meeting viewed by someone it does not concern."""


class ParticipantsHidden(PermissionDenied):
    """Only the people in a meeting (and its host, co-hosts, admins) see who is in it."""

    code = "not_a_participant"


class TooManyPasswordGuesses(RateLimited):
    """Too many wrong meeting passwords from this user, or for this meeting; ``retry_after`` seconds."""


class OpenMeetingsLimitReached(InvalidArgument):
    """The host already has the most open (scheduled or live) meetings allowed; ``limit`` says how many.
    Waiting does not help (422, not 429): ending or cancelling one does."""


class InvitationsLimitReached(InvalidArgument):
    """The meeting already has the most invitations allowed; ``limit`` says how many (422, not 429)."""
