"""Meeting-password guesses, limited before they are verified.

The attempt is reserved (per user and meeting, and per meeting) before argon2 runs, so however many
joins race, at most the limit of guesses is ever verified; a right password gives its attempt back.
"""

from __future__ import annotations

import datetime as dt

from domain.meetings.errors import TooManyPasswordGuesses
from domain.meetings.model import Meeting
from domain.meetings.rules import MeetingLimits
from domain.shared.ids import UserId
from domain.shared.limits import AttemptLimit, AttemptsExhausted
from ports.limits import AttemptLimiter
from ports.users import PasswordHasher


def guess_limits(limits: MeetingLimits, meeting: Meeting, user_id: UserId) -> list[AttemptLimit]:
    window = limits.password_guess_window
    return [AttemptLimit(f"meeting-password:{meeting.id}:{user_id}", limits.password_guesses_per_user, window),
            AttemptLimit(f"meeting-password:{meeting.id}", limits.password_guesses_per_meeting, window)]


async def verify_guess(limiter: AttemptLimiter, hasher: PasswordHasher, limits: MeetingLimits, meeting: Meeting,
                       user_id: UserId, password: str, now: dt.datetime) -> bool:
    """Whether ``password`` opens ``meeting`` (which has a password); raises TooManyPasswordGuesses
    without verifying when this user or this meeting has used up its guesses."""
    assert meeting.password_hash is not None
    keys = guess_limits(limits, meeting, user_id)
    try:
        attempt = await limiter.reserve(keys, now)
    except AttemptsExhausted as exc:
        raise TooManyPasswordGuesses("too many wrong meeting passwords; try again later",
                                     retry_after=exc.retry_after) from None
    ok = await hasher.verify(meeting.password_hash, password)
    if ok:
        await limiter.release([k.key for k in keys], attempt)
    return ok
