"""Uploaded files into PCM and frames with PyAV: every bad file is a clear InvalidInput, never a crash."""

from __future__ import annotations

import pytest

from adapters.pyav.decoding import PyAvMediaDecoder
from domain.analysis.errors import InputTooLarge, InvalidInput
from tests.support.media_files import GARBAGE, ogg_opus, png, wav

decoder = PyAvMediaDecoder()


async def test_a_stereo_44k_wav_becomes_16k_mono_pcm_of_the_same_length():
    audio = await decoder.decode_audio(wav(2.0, rate=44_100, channels=2), sample_rate=16_000, max_duration_s=60)
    assert audio.sample_rate == 16_000 and abs(audio.duration_s - 2.0) < 0.05


async def test_ogg_opus_decodes_to_48k_for_denoising():
    audio = await decoder.decode_audio(ogg_opus(1.0), sample_rate=48_000, max_duration_s=60)
    assert audio.sample_rate == 48_000 and abs(audio.duration_s - 1.0) < 0.1


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"), (GARBAGE, "corrupt"), (b"RIFF\x10\x00\x00\x00WAVEfmt ", "corrupt"),
])
async def test_files_that_are_no_audio_are_refused_with_a_reason(data, reason):
    with pytest.raises(InvalidInput) as caught:
        await decoder.decode_audio(data, sample_rate=16_000, max_duration_s=60)
    assert caught.value.details["reason"] == reason


async def test_an_image_is_not_audio():
    with pytest.raises(InvalidInput) as caught:
        await decoder.decode_audio(png(), sample_rate=16_000, max_duration_s=60)
    assert caught.value.details["reason"] == "not_audio"


async def test_a_rate_below_speech_band_is_refused():
    with pytest.raises(InvalidInput) as caught:
        await decoder.decode_audio(wav(0.5, rate=4_000), sample_rate=16_000, max_duration_s=60)
    assert caught.value.details["reason"] == "unsupported_rate"


async def test_too_long_audio_is_refused_as_too_long():
    with pytest.raises(InputTooLarge) as caught:
        await decoder.decode_audio(wav(3.0, rate=16_000), sample_rate=16_000, max_duration_s=1.0)
    assert caught.value.details["reason"] == "too_long"


async def test_a_png_becomes_an_rgb_frame_and_back():
    frame = await decoder.decode_image(png(32, 24), max_pixels=10_000)
    assert (frame.width, frame.height, len(frame.rgb)) == (32, 24, 32 * 24 * 3)
    data, media_type = await decoder.image_file(frame)
    assert media_type == "image/png" and (await decoder.decode_image(data, max_pixels=10_000)) == frame


async def test_audio_is_not_an_image_and_a_huge_frame_is_refused():
    with pytest.raises(InvalidInput) as caught:
        await decoder.decode_image(wav(0.5), max_pixels=10_000)
    assert caught.value.details["reason"] == "not_image"
    with pytest.raises(InputTooLarge):
        await decoder.decode_image(png(32, 24), max_pixels=100)


async def test_pcm_written_as_wav_reads_back_the_same():
    audio = await decoder.decode_audio(wav(1.0, rate=16_000), sample_rate=16_000, max_duration_s=60)
    data, media_type = await decoder.audio_file(audio)
    again = await decoder.decode_audio(data, sample_rate=16_000, max_duration_s=60)
    assert media_type == "audio/wav" and again == audio


async def test_odd_frame_sizes_survive_row_padding():
    frame = await decoder.decode_image(png(13, 7), max_pixels=10_000)
    data, _ = await decoder.image_file(frame)
    assert (await decoder.decode_image(data, max_pixels=10_000)) == frame and len(frame.rgb) == 13 * 7 * 3
