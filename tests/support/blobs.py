"""Stand-in blob stores for the recording media tests until the real adapters (adapters/memory,
adapters/local) are merged: a dict, or a directory so a killed process's uploads survive it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence
from pathlib import Path

from domain.shared.blobs import BlobNotFound, PartTooSmall
from ports.blobs import BlobInfo, PendingUpload, UploadedPart


class DirectoryBlobs:
    """Objects as files under ``root`` (key = relative path); multipart parts under ``root/.uploads``."""

    def __init__(self, root: Path, min_part_size: int = 5 * 1024 * 1024) -> None:
        self.root = Path(root)
        self.min_part_size = min_part_size
        self.puts = 0
        self.fail_puts = False  # a test makes the store unreachable

    def _path(self, key: str) -> Path:
        return self.root / "objects" / key

    def _info(self, key: str, data: bytes) -> BlobInfo:
        return BlobInfo(key=key, size=len(data), content_type="application/octet-stream",
                        etag=hashlib.md5(data).hexdigest())

    async def put(self, key: str, data: bytes, content_type: str) -> BlobInfo:
        if self.fail_puts:
            from domain.shared.errors import Unavailable
            raise Unavailable("blob store down (test)")
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        self.puts += 1
        return self._info(key, data)

    async def start_upload(self, key: str, content_type: str) -> str:
        upload_id = uuid.uuid4().hex
        folder = self.root / "uploads" / upload_id
        folder.mkdir(parents=True)
        (folder / "key").write_text(key)
        return upload_id

    def _upload(self, upload_id: str) -> Path:
        folder = self.root / "uploads" / upload_id
        if not folder.exists():
            raise BlobNotFound(upload_id=upload_id)
        return folder

    async def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> UploadedPart:
        (self._upload(upload_id) / f"{number:05d}").write_bytes(data)
        return UploadedPart(number=number, etag=hashlib.md5(data).hexdigest(), size=len(data))

    async def complete_upload(self, key: str, upload_id: str, parts: Sequence[UploadedPart]) -> BlobInfo:
        folder = self._upload(upload_id)
        chunks = [(folder / f"{p.number:05d}").read_bytes() for p in parts]
        if any(len(c) < self.min_part_size for c in chunks[:-1]):
            raise PartTooSmall()
        info = await self.put(key, b"".join(chunks), "")
        await self.abort_upload(key, upload_id)
        return info

    async def abort_upload(self, key: str, upload_id: str) -> None:
        folder = self._upload(upload_id)
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()

    async def pending_uploads(self, prefix: str) -> list[PendingUpload]:
        base = self.root / "uploads"
        found = [PendingUpload(key=(d / "key").read_text(), upload_id=d.name) for d in base.iterdir()] if base.exists() else []
        return [p for p in found if p.key.startswith(prefix)]

    async def uploaded_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        folder = self._upload(upload_id)
        return [UploadedPart(number=int(f.name), etag=hashlib.md5(f.read_bytes()).hexdigest(), size=f.stat().st_size)
                for f in sorted(folder.iterdir()) if f.name.isdigit()]

    async def stat(self, key: str) -> BlobInfo:
        return self._info(key, await self.read(key))

    async def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise BlobNotFound(key=key)
        return path.read_bytes()[start:end]

    async def list(self, prefix: str) -> list[BlobInfo]:
        base = self.root / "objects"
        if not base.exists():
            return []
        keys = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() and not p.name.endswith(".tmp"))
        return [self._info(k, self._path(k).read_bytes()) for k in keys if k.startswith(prefix)]

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def download_url(self, key: str, expires_in: dt.timedelta, filename: str | None = None) -> str | None:
        return None


def dump(blobs: DirectoryBlobs) -> str:
    return json.dumps(sorted(str(p) for p in blobs.root.rglob("*")))
