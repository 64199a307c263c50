"""A member's stay recorded into a real S3 server (moto_server) that goes away for a while mid-stay:
the chunk uploads retry, the stay completes, and no frame acknowledged or still in memory is lost; a
finished file larger than two S3 parts goes up as a multipart upload."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from adapters.webrtc.recording_tap import StayClock
from adapters.webrtc.stay_writer import StayWriter
from tests.integration.test_s3_blobs import _Proxy, _store
from tests.support.encoded import counters, decode_errors, probe, require_ffmpeg
from tests.unit.test_recording_media import FakePublished, FakeTime, feed


async def test_a_stay_recorded_through_an_s3_outage_completes_with_every_frame(s3_endpoint: str, tmp_path: Path,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    require_ffmpeg()
    proxy = _Proxy(s3_endpoint)
    await proxy.start()
    async with _store(f"http://127.0.0.1:{proxy.listen_port}", connect_timeout=0.5, read_timeout=2,
                      attempts=1) as store:
        clock = FakeTime()
        writer = StayWriter(store, "recordings/m/r", "user-a", 1, upload_interval=0.0,
                            clock=StayClock(monotonic=clock))
        published = {"video": FakePublished("video"), "audio": FakePublished("audio")}
        for p in published.values():
            writer.add_track(p)  # type: ignore[arg-type]
        await feed(published, clock, 2.0)
        await asyncio.sleep(0.5)
        await proxy.stop()
        await feed(published, clock, 2.0, start=2.0)  # recorded while S3 is unreachable
        await asyncio.sleep(1.5)
        await proxy.start()
        await feed(published, clock, 2.0, start=4.0)
        file = await writer.finish()
        assert file is not None
        path = tmp_path / "stay.webm"
        path.write_bytes(await store.read(file.key))
        assert [b.key for b in await store.list("recordings/m/r/parts/user-a/001/c")] == []
    await proxy.stop()
    assert any("upload failed, retrying" in r.getMessage() for r in caplog.records), "the outage was felt"
    assert abs(float(probe(path)["format"]["duration"]) - 6.0) < 0.15
    assert decode_errors(path) == ""
    assert counters(path) == list(range(90))


async def test_a_finished_file_larger_than_two_parts_goes_up_as_s3_multipart(s3_endpoint: str, tmp_path: Path) -> None:
    from adapters.webm.stored import upload_file

    async with _store(s3_endpoint) as store:
        source = tmp_path / "big.webm"
        source.write_bytes(os.urandom(2 * store.min_part_size + 12345))  # two 5 MiB parts, the tail folded in
        assert await upload_file(store, "recordings/m/r/big.webm", source, "video/webm") == source.stat().st_size
        assert await store.read("recordings/m/r/big.webm") == source.read_bytes()
        assert "-" in (await store.stat("recordings/m/r/big.webm")).etag  # S3's etag of a multipart object
        assert await store.pending_uploads("recordings/m/r/") == []
