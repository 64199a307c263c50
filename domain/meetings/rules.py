"""The rules for a meeting's fields: limits and the checks that enforce them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from attrs import frozen

from domain.meetings import errors as e
from domain.shared import text

DEFAULT_CAPACITY = 100
MAX_CAPACITY = 1000
DEFAULT_DURATION_MINUTES = 60
MAX_DURATION_MINUTES = 24 * 60
TITLE_MAX = 200
DESCRIPTION_MAX = 2000
MEETING_PASSWORD_MIN, MEETING_PASSWORD_MAX = 4, 64


def _readable(clean: Callable[[str, str], str], raw: str, field: str) -> str:
    try:
        return clean(raw, field)  # NFKC/NFC, nothing invisible or direction-changing (domain/shared/text.py)
    except text.TextRejected as err:
        raise e.InvalidMeetingData(str(err), field=field) from None


def check_title(title: str) -> str:
    title = _readable(text.display_text, title, "title")
    if not 1 <= len(title) <= TITLE_MAX:
        raise e.InvalidMeetingData(f"title must be 1-{TITLE_MAX} characters", field="title")
    return title


def check_description(description: str) -> str:
    description = _readable(text.prose_text, description, "description")
    if len(description) > DESCRIPTION_MAX:
        raise e.InvalidMeetingData(f"description must be at most {DESCRIPTION_MAX} characters",
                                   field="description")
    return description


def check_duration(minutes: int) -> int:
    if not 1 <= minutes <= MAX_DURATION_MINUTES:
        raise e.InvalidMeetingData(f"duration must be 1-{MAX_DURATION_MINUTES} minutes", field="duration_minutes")
    return minutes


EARLIEST_START = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
LATEST_START = dt.datetime(9000, 1, 1, tzinfo=dt.timezone.utc)


def check_start_time(start: dt.datetime) -> dt.datetime:
    # Bounds keep every derived time (ends_at) representable; nobody schedules outside them.
    if not EARLIEST_START <= start < LATEST_START:
        raise e.InvalidMeetingData("start time must be between the years 2000 and 9000", field="start_time")
    return start


def check_capacity(capacity: int) -> int:
    if not 2 <= capacity <= MAX_CAPACITY:
        raise e.InvalidMeetingData(f"capacity must be 2-{MAX_CAPACITY}", field="capacity")
    return capacity


def check_meeting_password(password: str) -> str:
    if not MEETING_PASSWORD_MIN <= len(password) <= MEETING_PASSWORD_MAX:
        raise e.InvalidMeetingData(
            f"meeting password must be {MEETING_PASSWORD_MIN}-{MEETING_PASSWORD_MAX} characters", field="password")
    return password


@frozen(kw_only=True)
class MeetingLimits:
    """Abuse limits (APP_MEETING_* settings).  Password guesses: per user and meeting, and per
    meeting from everyone, in a sliding window; a right password does not count.  Caps: open
    (scheduled or live) meetings one user hosts, and invitations (ids and emails) per meeting."""

    password_guesses_per_user: int = 5
    password_guesses_per_meeting: int = 100
    password_guess_window: dt.timedelta = dt.timedelta(minutes=15)
    open_meetings_per_host: int = 50
    invitations_per_meeting: int = 1000
