"""Uploaded files -> PCM audio or an RGB frame, and outputs -> WAV / PNG, with PyAV.

Decoding runs in a worker thread (FFmpeg releases the GIL), resampled as it goes so a long file is
refused as soon as it passes the duration limit instead of after decoding all of it."""

from __future__ import annotations

import asyncio
import io
import wave

import av

from domain.analysis.errors import InputTooLarge, InvalidInput
from domain.analysis.inference import PcmAudio, VideoFrame

MIN_SOURCE_RATE, MAX_SOURCE_RATE = 8_000, 192_000


def _open(data: bytes) -> av.container.InputContainer:
    try:
        return av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the file cannot be read as media ({type(exc).__name__})", reason="corrupt") from None


def decode_audio(data: bytes, sample_rate: int, max_duration_s: float) -> PcmAudio:
    if not data:
        raise InvalidInput("the file is empty", reason="empty")
    with _open(data) as container:
        if not container.streams.audio:
            raise InvalidInput("the file has no audio stream", reason="not_audio")
        stream = container.streams.audio[0]
        source_rate = stream.codec_context.sample_rate or stream.rate or 0
        if not MIN_SOURCE_RATE <= source_rate <= MAX_SOURCE_RATE:
            raise InvalidInput(f"audio at {source_rate} Hz is outside {MIN_SOURCE_RATE}-{MAX_SOURCE_RATE} Hz",
                               reason="unsupported_rate", got=source_rate)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
        out = bytearray()
        limit = int(max_duration_s * sample_rate) * 2
        try:
            for frame in container.decode(stream):
                for piece in resampler.resample(frame):
                    out += bytes(piece.planes[0])[:piece.samples * 2]
                if len(out) > limit:
                    raise InputTooLarge(f"the audio lasts more than {max_duration_s:g} s", reason="too_long",
                                        limit=max_duration_s)
            for piece in resampler.resample(None):
                out += bytes(piece.planes[0])[:piece.samples * 2]
        except av.FFmpegError as exc:
            raise InvalidInput(f"the audio is damaged ({type(exc).__name__})", reason="corrupt") from None
    if not out:
        raise InvalidInput("the file holds no audio samples", reason="empty")
    if len(out) > limit:
        raise InputTooLarge(f"the audio lasts more than {max_duration_s:g} s", reason="too_long", limit=max_duration_s)
    return PcmAudio(samples=bytes(out), sample_rate=sample_rate)


def decode_image(data: bytes, max_pixels: int) -> VideoFrame:
    if not data:
        raise InvalidInput("the file is empty", reason="empty")
    with _open(data) as container:
        if not container.streams.video:
            raise InvalidInput("the file has no image or video stream", reason="not_image")
        stream = container.streams.video[0]
        try:
            for frame in container.decode(stream):
                if frame.width * frame.height > max_pixels:
                    raise InputTooLarge(f"the frame has more than {max_pixels} pixels", reason="too_many_pixels",
                                        limit=max_pixels, got=frame.width * frame.height)
                return VideoFrame(width=frame.width, height=frame.height, rgb=_packed_rgb(frame.reformat(format="rgb24")))
        except av.FFmpegError as exc:
            raise InvalidInput(f"the image is damaged ({type(exc).__name__})", reason="corrupt") from None
    raise InvalidInput("the file holds no frame", reason="empty")


def wav_file(audio: PcmAudio) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.sample_rate)
        w.writeframes(audio.samples)
    return buf.getvalue()


def _packed_rgb(frame: av.VideoFrame) -> bytes:
    """FFmpeg pads each row to its line size; the domain's frames are packed."""
    plane, row = frame.planes[0], frame.width * 3
    data = bytes(plane)
    return b"".join(data[y * plane.line_size:y * plane.line_size + row] for y in range(frame.height))


def _video_frame(frame: VideoFrame) -> av.VideoFrame:
    out = av.VideoFrame(frame.width, frame.height, "rgb24")
    plane, row = out.planes[0], frame.width * 3
    pad = bytes(plane.line_size - row)
    plane.update(b"".join(frame.rgb[y * row:(y + 1) * row] + pad for y in range(frame.height)))
    return out


def png_file(frame: VideoFrame) -> bytes:
    if len(frame.rgb) != frame.width * frame.height * 3:
        raise InvalidInput("the frame's bytes do not match its size", reason="corrupt")
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="image2pipe") as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "rgb24"
        for packet in stream.encode(_video_frame(frame)):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


class PyAvMediaDecoder:
    async def decode_audio(self, data: bytes, *, sample_rate: int, max_duration_s: float) -> PcmAudio:
        return await asyncio.to_thread(decode_audio, data, sample_rate, max_duration_s)

    async def decode_image(self, data: bytes, *, max_pixels: int) -> VideoFrame:
        return await asyncio.to_thread(decode_image, data, max_pixels)

    async def audio_file(self, audio: PcmAudio) -> tuple[bytes, str]:
        return wav_file(audio), "audio/wav"

    async def image_file(self, frame: VideoFrame) -> tuple[bytes, str]:
        return await asyncio.to_thread(png_file, frame), "image/png"
