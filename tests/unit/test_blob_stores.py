"""The memory and directory blob stores against the BlobStore contract."""

from __future__ import annotations

import pytest

from adapters.localfs.blobs import LocalDirectoryBlobStore
from adapters.memory.blobs import InMemoryBlobStore
from confero_contracts.blobs import BlobStoreContract
from domain.shared.ids import new_id


class TestInMemoryBlobStore(BlobStoreContract):
    @pytest.fixture
    async def store(self):
        return InMemoryBlobStore(min_part_size=64 * 1024)


class TestLocalDirectoryBlobStore(BlobStoreContract):
    @pytest.fixture
    async def store(self, tmp_path):
        return LocalDirectoryBlobStore(tmp_path, min_part_size=64 * 1024)


async def test_a_finished_object_is_a_plain_file_and_a_pending_upload_survives_a_new_store(tmp_path):
    first = LocalDirectoryBlobStore(tmp_path, min_part_size=4)
    await first.put("recordings/m/r/a.webm", b"webm!", "video/webm")
    assert (tmp_path / "objects" / "recordings/m/r/a.webm").read_bytes() == b"webm!"
    upload = await first.start_upload("recordings/m/r/b.webm", "video/webm")
    await first.upload_part("recordings/m/r/b.webm", upload, 1, b"part")
    again = LocalDirectoryBlobStore(tmp_path, min_part_size=4)  # the process restarted
    [pending] = await again.pending_uploads("recordings/m/r/")
    parts = await again.uploaded_parts(pending.key, pending.upload_id)
    await again.complete_upload(pending.key, pending.upload_id, parts)
    assert await again.read("recordings/m/r/b.webm") == b"part"
    assert not list(tmp_path.rglob("*.tmp"))


async def test_an_upload_id_that_is_a_path_is_not_found(tmp_path):
    store = LocalDirectoryBlobStore(tmp_path)
    from domain.shared.blobs import BlobNotFound
    with pytest.raises(BlobNotFound):
        await store.uploaded_parts("a/b", "../../etc")
    with pytest.raises(BlobNotFound):
        await store.abort_upload("a/b", new_id())
