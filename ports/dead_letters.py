from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from attrs import frozen

from domain.shared.pagination import Page, PageRequest


@frozen(kw_only=True)
class DeadLetter:
    """An event a consumer failed ``attempts`` times, kept as it crossed the wire (a poison event may
    not even decode): its name, id, time and JSON payload, who failed it and the last error."""

    id: str
    name: str
    event_id: str
    occurred_at: dt.datetime | None
    payload: dict[str, Any]
    consumer: str
    error: str
    attempts: int
    failed_at: dt.datetime


class DeadLetters(Protocol):
    """Events set aside by consumers after too many failures, for administrators to see and replay.

    - ``count()`` is the number held; ``list(page)`` returns them oldest first.
    - ``replay(letter_id)`` hands the event again to the consumer that failed it (and to nobody else),
      with a fresh attempt count, and removes the letter.  Raises DeadLetterNotFound for an unknown id.
    Any method may raise Unavailable.
    """

    async def count(self) -> int: ...
    async def list(self, page: PageRequest) -> Page[DeadLetter]: ...
    async def replay(self, letter_id: str) -> None: ...
