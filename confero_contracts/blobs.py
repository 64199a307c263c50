"""BlobStore contract (ports/blobs.py): S3 semantics, run against memory, a directory and a real S3
server.  Fixture: ``store``, an empty store (or one whose keys no other test uses)."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from domain.shared.blobs import BlobNotFound, InvalidBlobKey, PartTooSmall
from domain.shared.errors import InvalidArgument
from domain.shared.ids import new_id
from ports.blobs import BlobStore


def _key(name: str) -> str:
    return f"t/{new_id()}/{name}"


class BlobStoreContract:
    @pytest.fixture
    async def store(self) -> BlobStore:
        raise NotImplementedError

    async def test_a_put_object_reads_back_whole_and_by_ranges(self, store):
        key, data = _key("a.bin"), os.urandom(1000)
        info = await store.put(key, data, "application/x-test")
        assert (info.key, info.size, info.content_type) == (key, 1000, "application/x-test") and info.etag
        assert await store.stat(key) == info
        assert await store.read(key) == data
        assert await store.read(key, 10, 20) == data[10:20]
        assert await store.read(key, 990) == data[990:]
        assert await store.read(key, 900, 5000) == data[900:]
        assert await store.read(key, 1000) == b"" and await store.read(key, 5000, 6000) == b""

    async def test_a_put_replaces_the_object(self, store):
        key = _key("b")
        await store.put(key, b"one", "text/plain")
        await store.put(key, b"second", "text/csv")
        assert await store.read(key) == b"second" and (await store.stat(key)).content_type == "text/csv"

    async def test_missing_keys_raise_blob_not_found_and_delete_is_idempotent(self, store):
        key = _key("gone")
        for call in (store.stat(key), store.read(key), store.read(key, 1, 2)):
            with pytest.raises(BlobNotFound):
                await call
        await store.put(key, b"x", "text/plain")
        await store.delete(key)
        await store.delete(key)
        with pytest.raises(BlobNotFound):
            await store.stat(key)

    @pytest.mark.parametrize("bad", ["", "/abs", "a//b", "a/../b", "a/./b", "sp ace", "caf\u00e9", "trailing/"])
    async def test_invalid_keys_are_refused(self, store, bad):
        with pytest.raises(InvalidBlobKey):
            await store.put(bad, b"x", "text/plain")
        with pytest.raises(InvalidBlobKey):
            await store.stat(bad)

    async def test_negative_ranges_are_refused(self, store):
        key = _key("r")
        await store.put(key, b"abc", "text/plain")
        with pytest.raises(InvalidArgument):
            await store.read(key, -1)

    async def test_list_returns_the_objects_under_a_prefix_sorted_by_key(self, store):
        root = f"t/{new_id()}"
        for name in ("b/2", "a/1", "b/1", "c"):
            await store.put(f"{root}/{name}", name.encode(), "text/plain")
        await store.put(f"{root}x/other", b"x", "text/plain")
        listed = await store.list(f"{root}/b/")
        assert [i.key for i in listed] == [f"{root}/b/1", f"{root}/b/2"]
        assert [i.size for i in listed] == [3, 3]
        assert [i.key for i in await store.list(f"{root}/")] == [f"{root}/{n}" for n in ("a/1", "b/1", "b/2", "c")]
        assert await store.list(f"{root}/nothing/") == []

    async def test_a_multipart_upload_joins_its_parts_in_order(self, store):
        key, size = _key("m.webm"), store.min_part_size
        first, second = os.urandom(size), os.urandom(1234)
        upload = await store.start_upload(key, "video/webm")
        p2 = await store.upload_part(key, upload, 2, second)
        p1 = await store.upload_part(key, upload, 1, first)
        assert (p1.number, p1.size, p2.size) == (1, size, 1234)
        info = await store.complete_upload(key, upload, [p1, p2])
        assert (info.size, info.content_type) == (size + 1234, "video/webm")
        assert await store.read(key, size - 10, size + 10) == first[-10:] + second[:10]
        assert await store.read(key) == first + second
        assert all(p.upload_id != upload for p in await store.pending_uploads(key))

    async def test_uploading_a_part_number_again_replaces_that_part(self, store):
        key = _key("again")
        upload = await store.start_upload(key, "application/octet-stream")
        await store.upload_part(key, upload, 1, b"old")
        part = await store.upload_part(key, upload, 1, b"new!")
        assert [(p.number, p.size) for p in await store.uploaded_parts(key, upload)] == [(1, 4)]
        await store.complete_upload(key, upload, [part])
        assert await store.read(key) == b"new!"

    async def test_a_part_but_the_last_smaller_than_the_minimum_is_refused(self, store):
        key = _key("small")
        upload = await store.start_upload(key, "application/octet-stream")
        parts = [await store.upload_part(key, upload, 1, b"too small"),
                 await store.upload_part(key, upload, 2, b"last")]
        with pytest.raises(PartTooSmall):
            await store.complete_upload(key, upload, parts)
        with pytest.raises(BlobNotFound):
            await store.stat(key)

    async def test_what_a_crashed_uploader_left_is_found_and_completed(self, store):
        prefix = f"t/{new_id()}/"
        key, data = prefix + "crash.webm", os.urandom(store.min_part_size)
        upload = await store.start_upload(key, "video/webm")
        await store.upload_part(key, upload, 1, data)
        await store.upload_part(key, upload, 2, b"tail")
        # A new process knows only the prefix.
        assert [(p.key, p.upload_id) for p in await store.pending_uploads(prefix)] == [(key, upload)]
        parts = await store.uploaded_parts(key, upload)
        assert [(p.number, p.size) for p in parts] == [(1, len(data)), (2, 4)]
        await store.complete_upload(key, upload, parts)
        assert await store.read(key) == data + b"tail"
        assert await store.pending_uploads(prefix) == []

    async def test_an_aborted_upload_is_gone_and_unknown_uploads_raise_blob_not_found(self, store):
        key = _key("abort")
        upload = await store.start_upload(key, "video/webm")
        await store.upload_part(key, upload, 1, b"x")
        await store.abort_upload(key, upload)
        assert await store.pending_uploads(key) == []
        with pytest.raises(BlobNotFound):
            await store.uploaded_parts(key, upload)
        with pytest.raises(BlobNotFound):
            await store.upload_part(key, new_id(), 1, b"x")
        with pytest.raises(BlobNotFound):
            await store.stat(key)

    async def test_a_download_url_is_a_url_or_none_and_needs_the_object(self, store):
        key = _key("dl.webm")
        await store.put(key, b"video", "video/webm")
        url = await store.download_url(key, dt.timedelta(minutes=5), filename="meeting.webm")
        assert url is None or url.startswith(("http://", "https://"))
        with pytest.raises(BlobNotFound):
            await store.download_url(_key("missing"), dt.timedelta(minutes=5))
