"""A cheaper NTP clock for aiortc's RTP senders (an experiment measured by bench/sfu_room25.py; not installed
by any runner).

aiortc's ``RTCRtpSender._run_rtp`` reads ``aiortc.clock.current_ntp_time()`` twice per RTP packet (the
abs-send-time extension, then the sender report's reference); aiortc builds it from a timezone-aware
``datetime`` and a ``timedelta`` each time.  ``install()`` replaces it, process-wide, with the same value
computed from ``time.time_ns()`` with integer arithmetic only, after checking that both agree.
"""

from __future__ import annotations

import time

NTP_UNIX_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01
TOLERANCE = 1 << 27  # 1/32 s in NTP fractions: the two reads are a few microseconds apart


def current_ntp_time() -> int:
    """Now as a 64-bit NTP timestamp (32.32 fixed point), like aiortc.clock.current_ntp_time."""
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    return ((seconds + NTP_UNIX_OFFSET) << 32) | (nanoseconds // 1000 << 32) // 1_000_000


def install() -> None:
    import aiortc.clock

    original = getattr(aiortc.clock, "current_ntp_time", None)
    if original is None:
        raise RuntimeError("aiortc.clock.current_ntp_time is gone")
    if original is current_ntp_time:
        return
    if abs(current_ntp_time() - original()) > TOLERANCE:
        raise RuntimeError("aiortc.clock.current_ntp_time does not count what this clock counts")
    aiortc.clock.current_ntp_time = current_ntp_time  # the senders read it through the module
