"""A meeting's transcript as text: WebVTT and SubRip (SRT), pure functions of its final captions.

Times are meeting time: from ``origin`` (the meeting's start, or the start of the recording the
transcript goes with), never negative.  Speakers are named as players show them: a WebVTT voice span
``<v Name>text`` and ``Name: text`` in SRT.  Text is escaped for WebVTT (``&``, ``<``, ``>``) and kept on
one line per cue (line breaks inside a caption become spaces; an empty line would end a cue)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from domain.captions.model import Caption


def offset_ms(at: dt.datetime, origin: dt.datetime) -> int:
    """Milliseconds from ``origin`` to ``at``; 0 for a time before the origin."""
    return max(0, round((at - origin).total_seconds() * 1000))


def clock(ms: int, separator: str) -> str:
    """HH:MM:SS<separator>mmm (hours grow past 99 if they must)."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _span(c: Caption, origin: dt.datetime) -> tuple[int, int]:
    start = offset_ms(c.start_at, origin)
    return start, max(start, offset_ms(c.end_at, origin))


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _voice(name: str) -> str:
    # The annotation of a voice span ends at '>': a name keeps everything but that (and line breaks).
    return _one_line(name).replace(">", "").replace("&", "&amp;").replace("<", "&lt;") or "?"


def to_vtt(captions: Iterable[Caption], names: Mapping[str, str], origin: dt.datetime) -> str:
    """WebVTT: a header, then one cue per caption, identified by the caption's id."""
    out = ["WEBVTT", ""]
    for c in captions:
        start, end = _span(c, origin)
        name = names.get(c.speaker_id, c.speaker_id)
        out += [c.id.replace("-->", "->"), f"{clock(start, '.')} --> {clock(end, '.')}",
                f"<v {_voice(name)}>{_vtt_escape(_one_line(c.text))}", ""]
    return "\n".join(out)


def to_srt(captions: Iterable[Caption], names: Mapping[str, str], origin: dt.datetime) -> str:
    """SubRip: cues numbered from 1, comma before the milliseconds, ``Name: text``."""
    out: list[str] = []
    for n, c in enumerate(captions, start=1):
        start, end = _span(c, origin)
        name = _one_line(names.get(c.speaker_id, c.speaker_id))
        out += [str(n), f"{clock(start, ',')} --> {clock(end, ',')}", f"{name}: {_one_line(c.text)}", ""]
    return "\n".join(out)
