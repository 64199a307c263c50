"""Whether speech-to-text works for a captioned room, and when to try it again.

A failed stream (Unavailable) tells the room's members once (``CaptionSink.unavailable``) and sets the
next try after a delay that doubles from ``initial`` up to ``maximum``; until then audio is dropped.
A stream opened after the last failure that then works tells them captions are back (``resumed``)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable

from domain.shared.ids import MeetingId
from ports.captions import CaptionSink

log = logging.getLogger(__name__)


class WallClock:
    """Monotonic seconds (as the tap stamps frames) -> aware UTC datetimes."""

    def __init__(self, wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._origin_wall, self._origin = wall(), monotonic()

    def wall(self, monotonic: float) -> dt.datetime:
        return self._origin_wall + dt.timedelta(seconds=monotonic - self._origin)


class CaptionHealth:
    def __init__(self, room_id: MeetingId, sink: CaptionSink, *, initial: float = 1.0, maximum: float = 10.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.room_id, self._sink = room_id, sink
        self._initial, self._maximum, self._monotonic = initial, maximum, monotonic
        self._delay = initial
        self._retry_at = -float("inf")
        self._failed_at = -float("inf")
        self.down = False

    def may_try(self) -> bool:
        return self._monotonic() >= self._retry_at

    async def failed(self, reason: str) -> None:
        now = self._monotonic()
        if now < self._retry_at:
            return  # another stream of the room failed first: its delay stands
        self._failed_at, self._retry_at = now, now + self._delay
        self._delay = min(self._delay * 2, self._maximum)
        if not self.down:
            self.down = True
            log.warning("captions unavailable: %s", reason, extra={"room_id": self.room_id})
            await quietly(self._sink.unavailable(self.room_id, reason), "the room could not be told")

    async def worked(self, opened_at: float) -> None:
        if opened_at < self._failed_at:
            return  # a stream from before the failure says nothing about now
        self._delay = self._initial
        if self.down:
            self.down = False
            await quietly(self._sink.resumed(self.room_id), "the room could not be told")


async def quietly(call: Awaitable[None], what: str) -> None:
    """A CaptionSink call whose failure (its store or bus down) is logged: the meeting goes on."""
    try:
        await call
    except Exception:
        log.warning("captions: %s", what, exc_info=True)
