"""The S3 blob store against a real S3 server (moto_server): the contract, presigned downloads, and an
outage: a stopped server gives Unavailable and nothing acknowledged before it is lost."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import urllib.parse
import uuid

import aiohttp
import pytest

from adapters.s3.blobs import open_s3_blob_store
from confero_contracts.blobs import BlobStoreContract
from domain.shared.errors import Unavailable


def _bucket() -> str:
    return f"confero-test-{uuid.uuid4().hex[:12]}"


@contextlib.asynccontextmanager
async def _store(endpoint: str, bucket: str | None = None, **kw):
    async with open_s3_blob_store(endpoint=endpoint, bucket=bucket or _bucket(), region="us-east-1",
                                  access_key="test-key", secret_key="test-secret", **kw) as store:
        yield store


class TestS3BlobStore(BlobStoreContract):
    @pytest.fixture
    async def store(self, s3_endpoint):
        async with _store(s3_endpoint) as store:
            yield store


async def test_a_presigned_link_downloads_the_object_with_ranges(s3_endpoint):
    async with _store(s3_endpoint) as store:
        data = os.urandom(5000)
        await store.put("recordings/m/r/a.webm", data, "video/webm")
        url = await store.download_url("recordings/m/r/a.webm", dt.timedelta(minutes=5), filename="a.webm")
        assert url is not None and ("X-Amz-Signature=" in url or "Signature=" in url)
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as reply:
                assert reply.status == 200 and await reply.read() == data
                assert 'filename="a.webm"' in reply.headers.get("Content-Disposition", "")
            async with http.get(url, headers={"Range": "bytes=100-199"}) as reply:
                assert reply.status == 206 and await reply.read() == data[100:200]


async def test_a_second_store_on_an_existing_bucket_starts(s3_endpoint):
    bucket = _bucket()
    async with _store(s3_endpoint, bucket) as one:
        await one.put("k", b"v", "text/plain")
        async with _store(s3_endpoint, bucket) as two:
            assert await two.read("k") == b"v"


async def test_an_unreachable_server_at_start_is_unavailable():
    with pytest.raises(Unavailable):
        async with _store("http://127.0.0.1:9", connect_timeout=0.5, attempts=1):
            pass


class _Proxy:
    """A TCP relay in front of the S3 server that the test can stop and start (moto keeps its data in
    memory, so stopping the server itself would lose what the test checks is kept)."""

    def __init__(self, target: str) -> None:
        parts = urllib.parse.urlsplit(target)
        self.host, self.port = parts.hostname, parts.port
        self.server: asyncio.Server | None = None
        self.listen_port = 0
        self.streams: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.listen_port)
        self.listen_port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.streams:
            w.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        self.streams += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_a_stopped_server_gives_unavailable_and_acknowledged_parts_survive_it(s3_endpoint):
    proxy = _Proxy(s3_endpoint)
    await proxy.start()
    bucket = _bucket()
    async with _store(f"http://127.0.0.1:{proxy.listen_port}", bucket, connect_timeout=0.5, read_timeout=2,
                      attempts=1) as store:
        key, first = "recordings/m/r/u.webm", os.urandom(store.min_part_size)
        upload = await store.start_upload(key, "video/webm")
        acknowledged = await store.upload_part(key, upload, 1, first)
        await proxy.stop()
        with pytest.raises(Unavailable):
            await store.upload_part(key, upload, 2, b"during the outage")
        with pytest.raises(Unavailable):
            await store.list("recordings/")
        await proxy.start()  # the server is back, on the same address
        parts = await store.uploaded_parts(key, upload)
        assert [(p.number, p.etag) for p in parts] == [(1, acknowledged.etag)]
        last = await store.upload_part(key, upload, 2, b"after")
        await store.complete_upload(key, upload, [acknowledged, last])
        assert await store.read(key) == first + b"after"
    await proxy.stop()
