"""The rules for a meeting's fields: limits and the checks that enforce them."""

from __future__ import annotations

import datetime as dt

from attrs import frozen

from domain.meetings import errors as e

DEFAULT_CAPACITY = 100
MAX_CAPACITY = 1000
DEFAULT_DURATION_MINUTES = 60
MAX_DURATION_MINUTES = 24 * 60
TITLE_MAX = 200
DESCRIPTION_MAX = 2000
MEETING_PASSWORD_MIN, MEETING_PASSWORD_MAX = 4, 64


def _no_control(text: str, field: str, allowed: str = "") -> None:
    if any(ord(ch) < 32 and ch not in allowed or ch == "\x7f" for ch in text):
        raise e.InvalidMeetingData(f"{field} must not contain control characters", field=field)


def check_title(title: str) -> str:
    _no_control(title, "title", allowed="\n\t\r")  # whitespace is collapsed below
    title = " ".join(title.split())
    if not 1 <= len(title) <= TITLE_MAX:
        raise e.InvalidMeetingData(f"title must be 1-{TITLE_MAX} characters", field="title")
    return title


def check_description(text: str) -> str:
    _no_control(text, "description", allowed="\n\t\r")
    if len(text) > DESCRIPTION_MAX:
        raise e.InvalidMeetingData(f"description must be at most {DESCRIPTION_MAX} characters",
                                   field="description")
    return text


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
