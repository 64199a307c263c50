"""RTP packets of a forwarded frame as bytes, without an aiortc ``RtpPacket`` per packet.

aiortc's send loop builds an ``RtpPacket`` and its ``HeaderExtensions`` for every packet and
serializes the extensions again each time; for an SFU that only forwards, that was the largest
Python cost per packet. Here the header extensions of a frame are serialized once (by aiortc's own
``HeaderExtensionsMap``, so the bytes are the same) and only the abs-send-time bytes change per
packet. The packets kept for retransmission are tuples; one becomes an ``RtpPacket`` only when a NACK
asks for it (``LazyRtpHistory``).
"""

from __future__ import annotations

import struct
from typing import Any

from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap, RtpPacket

HEADER = struct.Struct("!BBHLL")
EXTENSION_HEADER = struct.Struct("!HH")
NTP_DELTA = 2208988800  # s from the NTP epoch (1900) to the Unix epoch (1970)
ABS_SEND_TIME_MASK = 0xFFFFFF


def ntp_time(unix: float) -> int:
    """64-bit NTP timestamp of a ``time.time()`` value (as aiortc's clock.current_ntp_time)."""
    seconds = int(unix)
    return (seconds + NTP_DELTA) << 32 | int((unix - seconds) * 4294967296.0)


def abs_send_time(unix: float) -> int:
    """24-bit abs-send-time (6.18 fixed point seconds) of a ``time.time()`` value: the bits aiortc
    takes from the NTP time, ``(ntp >> 14) & 0xFFFFFF``."""
    return int((unix + NTP_DELTA) * 262144.0) & ABS_SEND_TIME_MASK


def audio_level_extension(level_dbov: int | None) -> tuple[bool, int] | None:
    """aiortc's ``extensions.audio_level`` for a frame's ``audio_level`` (dBov, <= 0)."""
    return None if level_dbov is None else (False, -level_dbov)


class FrameHeader:
    """The RTP header bytes every packet of one frame shares, split around the abs-send-time bytes:
    ``first_byte`` (version, extension bit), then after the 12 fixed bytes ``before`` + 3 bytes of
    abs-send-time (when negotiated) + ``after``."""

    __slots__ = ("first_byte", "before", "after", "has_abs_send_time")

    def __init__(self, extensions: HeaderExtensionsMap, mid: str | None, audio_level: int | None) -> None:
        level = audio_level_extension(audio_level)
        zero = self._serialized(extensions, HeaderExtensions(mid=mid, abs_send_time=0, audio_level=level))
        ones = self._serialized(extensions, HeaderExtensions(mid=mid, abs_send_time=ABS_SEND_TIME_MASK,
                                                             audio_level=level))
        self.first_byte = 0x80 | (0x10 if zero else 0)  # RTP version 2, no padding, no CSRC
        if zero == ones:  # abs-send-time not negotiated: the extensions never change
            self.before, self.after, self.has_abs_send_time = zero, b"", False
            return
        at = next(i for i in range(len(zero)) if zero[i] != ones[i])
        if len(zero) != len(ones) or zero[at:at + 3] != b"\x00\x00\x00" or ones[at:at + 3] != b"\xff\xff\xff":
            raise ValueError("abs-send-time is not three contiguous bytes of the serialized extensions")
        self.before, self.after, self.has_abs_send_time = zero[:at], zero[at + 3:], True

    @staticmethod
    def _serialized(extensions: HeaderExtensionsMap, values: HeaderExtensions) -> bytes:
        profile, value = extensions.set(values)
        return EXTENSION_HEADER.pack(profile, len(value) >> 2) + value if value else b""

    def packet(self, payload_type: int, marker: bool, sequence_number: int, timestamp: int, ssrc: int,
               send_time: int, payload: bytes) -> bytes:
        fixed = HEADER.pack(self.first_byte, marker << 7 | payload_type, sequence_number, timestamp, ssrc)
        if self.has_abs_send_time:
            return b"".join((fixed, self.before, send_time.to_bytes(3, "big"), self.after, payload))
        return b"".join((fixed, self.before, payload))


class LazyRtpHistory(dict):  # type: ignore[type-arg]
    """Stands in for an aiortc sender's RTP history (``seq % RTP_HISTORY_SIZE`` -> ``RtpPacket``):
    entries are stored as tuples ``(payload_type, sequence_number, timestamp, ssrc, marker, payload,
    abs_send_time, audio_level)`` and become the ``RtpPacket`` aiortc would have kept when read."""

    def __init__(self, mid: str | None) -> None:
        super().__init__()
        self.mid = mid

    def _packet(self, key: Any, item: Any) -> Any:
        if not isinstance(item, tuple):
            return item
        payload_type, sequence_number, timestamp, ssrc, marker, payload, send_time, level = item
        packet = RtpPacket(payload_type=payload_type, marker=int(marker), sequence_number=sequence_number,
                           timestamp=timestamp, ssrc=ssrc, payload=payload)
        packet.extensions.abs_send_time = send_time
        packet.extensions.mid = self.mid
        packet.extensions.audio_level = audio_level_extension(level)
        dict.__setitem__(self, key, packet)
        return packet

    def get(self, key: Any, default: Any = None) -> Any:
        item = dict.get(self, key, default)
        return self._packet(key, item) if item is not default else default

    def __getitem__(self, key: Any) -> Any:
        return self._packet(key, dict.__getitem__(self, key))
