"""WebVTT and SRT of a transcript: meeting time, speaker names, escaping, one line per cue."""

from __future__ import annotations

import datetime as dt

from domain.captions.formats import clock, offset_ms, to_srt, to_vtt
from domain.captions.model import Caption
from domain.shared.ids import MeetingId, UserId

T0 = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.timezone.utc)
ANN, BOB = UserId("aaaaaaaa-0000-4000-8000-000000000001"), UserId("bbbbbbbb-0000-4000-8000-000000000002")
NAMES = {ANN: "Ann", BOB: "Bob"}


def cap(cid: str, who: UserId, start_s: float, end_s: float, text: str) -> Caption:
    return Caption(id=cid, meeting_id=MeetingId("m"), speaker_id=who, text=text, final=True,
                   start_at=T0 + dt.timedelta(seconds=start_s), end_at=T0 + dt.timedelta(seconds=end_s))


CAPTIONS = [cap("c1", ANN, 1.5, 3.25, "Hello everyone."), cap("c2", BOB, 3661.001, 3663, "Hi Ann.")]


def test_clock_formats_hours_minutes_seconds_and_milliseconds() -> None:
    assert clock(0, ".") == "00:00:00.000"
    assert clock(3_661_001, ",") == "01:01:01,001"
    assert clock(100 * 3_600_000, ".") == "100:00:00.000"


def test_offsets_are_from_the_origin_and_never_negative() -> None:
    assert offset_ms(T0 + dt.timedelta(seconds=2.0004), T0) == 2000
    assert offset_ms(T0 - dt.timedelta(seconds=5), T0) == 0


def test_vtt_has_a_header_cue_ids_meeting_times_and_voice_spans() -> None:
    assert to_vtt(CAPTIONS, NAMES, T0) == (
        "WEBVTT\n\n"
        "c1\n00:00:01.500 --> 00:00:03.250\n<v Ann>Hello everyone.\n\n"
        "c2\n01:01:01.001 --> 01:01:03.000\n<v Bob>Hi Ann.\n")


def test_srt_numbers_its_cues_and_names_the_speaker_before_the_text() -> None:
    assert to_srt(CAPTIONS, NAMES, T0) == (
        "1\n00:00:01,500 --> 00:00:03,250\nAnn: Hello everyone.\n\n"
        "2\n01:01:01,001 --> 01:01:03,000\nBob: Hi Ann.\n")


def test_times_count_from_another_origin_such_as_a_recordings_start() -> None:
    vtt = to_vtt(CAPTIONS[:1], NAMES, T0 + dt.timedelta(seconds=1))
    assert "00:00:00.500 --> 00:00:02.250" in vtt


def test_vtt_escapes_markup_and_keeps_every_cue_on_one_line() -> None:
    odd = cap("c3", ANN, 0, 1, "a < b && c > d\n\nnext")
    vtt = to_vtt([odd], {ANN: "Ann <the> & co"}, T0)
    assert "<v Ann &lt;the &amp; co>a &lt; b &amp;&amp; c &gt; d next\n" in vtt
    assert "\n\n\n" not in vtt


def test_an_unknown_speaker_is_shown_by_id_and_an_empty_transcript_is_just_the_header() -> None:
    assert f"{BOB}: Hi Ann." in to_srt(CAPTIONS[1:], {}, T0)
    assert to_vtt([], NAMES, T0) == "WEBVTT\n"
    assert to_srt([], NAMES, T0) == ""


def test_an_end_before_its_start_is_clamped() -> None:
    assert "00:00:05,000 --> 00:00:05,000" in to_srt([cap("c", ANN, 5, 4, "x")], NAMES, T0)
