"""Attempt limits: how many tries of something (a meeting password, later a login) a key may make in
a sliding window, and the error for a key that has used them up."""

from __future__ import annotations

import datetime as dt

from attrs import field, frozen

from domain.shared.errors import RateLimited


def _positive(_: object, attribute: object, value: dt.timedelta) -> None:
    if value <= dt.timedelta(0):
        raise ValueError("an attempt window must be positive")


@frozen
class AttemptLimit:
    """At most ``limit`` attempts under ``key`` within any ``window``."""

    key: str
    limit: int = field()
    window: dt.timedelta = field(validator=_positive)

    @limit.validator
    def _at_least_one(self, _: object, value: int) -> None:
        if value < 1:
            raise ValueError("an attempt limit must be at least 1")


class AttemptsExhausted(RateLimited):
    """Some key has used up its attempts; ``retry_after`` (whole seconds, at least 1) says when every
    key given has room again."""

    def __init__(self, message: str = "", *, retry_after: int) -> None:
        super().__init__(message or "too many attempts", retry_after=retry_after)
        self.retry_after = retry_after
