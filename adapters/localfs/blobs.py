"""BlobStore in a directory, for the embedded all-in-one (``APP_RECORDINGS_DIR``).

Layout under the root: ``objects/<key>`` holds each object's bytes as they are (a finished recording
is a plain WebM file one can open), ``meta/<key>.json`` its content type and etag, and
``uploads/<upload id>/`` each multipart upload in progress: ``upload.json`` (key, content type) and one
file per part.  Every file is written to a temporary name, flushed to disk and renamed into place, so
a crash leaves either the old or the new file, never half of one; an acknowledged part survives a crash
of the uploader and is found again by ``pending_uploads`` / ``uploaded_parts``.  Completing an upload
joins the parts into a temporary file and renames it over the object (atomic on one file system).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adapters.blob_rules import check_complete, check_part_number, multipart_etag, read_range
from adapters.memory.blobs import S3_MIN_PART
from domain.shared.blobs import BlobNotFound, check_key, check_prefix
from domain.shared.errors import Unavailable
from domain.shared.ids import is_valid_id, new_id
from ports.blobs import BlobInfo, PendingUpload, UploadedPart

CHUNK = 1024 * 1024


def _write_atomically(path: Path, chunks: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{new_id()}.tmp")
    try:
        with open(tmp, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


class LocalDirectoryBlobStore:
    def __init__(self, root: str | os.PathLike[str], min_part_size: int = S3_MIN_PART) -> None:
        self.root = Path(root)
        self.min_part_size = min_part_size
        self._objects = self.root / "objects"
        self._meta = self.root / "meta"
        self._uploads = self.root / "uploads"

    async def put(self, key: str, data: bytes, content_type: str) -> BlobInfo:
        check_key(key)
        info = BlobInfo(key=key, size=len(data), content_type=content_type, etag=hashlib.md5(data).hexdigest())
        await self._run(self._store, key, [data], info)
        return info

    async def start_upload(self, key: str, content_type: str) -> str:
        check_key(key)
        upload_id = new_id()
        body = json.dumps({"key": key, "content_type": content_type}).encode()
        await self._run(_write_atomically, self._uploads / upload_id / "upload.json", [body])
        return upload_id

    async def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> UploadedPart:
        check_part_number(number)
        folder = await self._run(self._upload_dir, key, upload_id)
        await self._run(_write_atomically, folder / f"{number:05d}.part", [data])
        return UploadedPart(number=number, etag=hashlib.md5(data).hexdigest(), size=len(data))

    async def complete_upload(self, key: str, upload_id: str, parts: Sequence[UploadedPart]) -> BlobInfo:
        folder = await self._run(self._upload_dir, key, upload_id)
        check_complete(parts, await self.uploaded_parts(key, upload_id), self.min_part_size)
        _, content_type = await self._run(self._upload_info, folder)
        info = BlobInfo(key=key, size=sum(p.size for p in parts), content_type=content_type,
                        etag=multipart_etag([p.etag for p in parts]))

        def join() -> None:
            def chunks() -> Any:
                for part in parts:
                    with open(folder / f"{part.number:05d}.part", "rb") as f:
                        while block := f.read(CHUNK):
                            yield block
            self._store(key, chunks(), info)
            shutil.rmtree(folder, ignore_errors=True)

        await self._run(join)
        return info

    async def abort_upload(self, key: str, upload_id: str) -> None:
        folder = await self._run(self._upload_dir, key, upload_id)
        await self._run(shutil.rmtree, folder, True)

    async def pending_uploads(self, prefix: str) -> list[PendingUpload]:
        check_prefix(prefix)

        def scan() -> list[PendingUpload]:
            found = []
            for folder in self._uploads.iterdir() if self._uploads.is_dir() else ():
                try:
                    key, _ = self._upload_info(folder)
                except BlobNotFound:
                    continue  # a start that crashed before its upload.json was in place
                if key.startswith(prefix):
                    found.append(PendingUpload(key=key, upload_id=folder.name))
            return sorted(found, key=lambda p: (p.key, p.upload_id))

        return await self._run(scan)

    async def uploaded_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        def scan() -> list[UploadedPart]:
            folder = self._upload_dir(key, upload_id)
            return [UploadedPart(number=int(p.stem), etag=_md5_of(p), size=p.stat().st_size)
                    for p in sorted(folder.glob("*.part"))]

        return await self._run(scan)

    async def stat(self, key: str) -> BlobInfo:
        check_key(key)
        return await self._run(self._stat, key)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        check_key(key)

        def read() -> bytes:
            try:
                with open(self._objects / key, "rb") as f:
                    lo, hi = read_range(os.fstat(f.fileno()).st_size, start, end)
                    f.seek(lo)
                    return f.read(hi - lo)
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raise BlobNotFound("no such blob", key=key) from None

        return await self._run(read)

    async def list(self, prefix: str) -> list[BlobInfo]:
        check_prefix(prefix)

        def scan() -> list[BlobInfo]:
            if not self._objects.is_dir():
                return []
            keys = sorted(p.relative_to(self._objects).as_posix() for p in self._objects.rglob("*")
                          if p.is_file() and not p.name.startswith("."))
            found = []
            for key in keys:
                if key.startswith(prefix):
                    try:
                        found.append(self._stat(key))
                    except BlobNotFound:
                        pass  # deleted meanwhile
            return found

        return await self._run(scan)

    async def delete(self, key: str) -> None:
        check_key(key)

        def delete() -> None:
            (self._objects / key).unlink(missing_ok=True)
            (self._meta / f"{key}.json").unlink(missing_ok=True)

        await self._run(delete)

    async def download_url(self, key: str, expires_in: dt.timedelta, filename: str | None = None) -> str | None:
        await self.stat(key)
        return None

    # -- on a worker thread ------------------------------------------------------------------------

    def _store(self, key: str, chunks: Any, info: BlobInfo) -> None:
        # The data first: a crash between the two renames leaves a meta of another size, which _stat
        # notices and recomputes.
        _write_atomically(self._objects / key, chunks)
        meta = {"content_type": info.content_type, "etag": info.etag, "size": info.size}
        _write_atomically(self._meta / f"{key}.json", [json.dumps(meta).encode()])

    def _stat(self, key: str) -> BlobInfo:
        path = self._objects / key
        try:
            size = path.stat().st_size if path.is_file() else -1
        except OSError:
            size = -1
        if size < 0:
            raise BlobNotFound("no such blob", key=key)
        try:
            meta = json.loads((self._meta / f"{key}.json").read_text())
        except (OSError, ValueError):
            meta = {}
        if meta.get("size") != size:
            meta = {"content_type": "application/octet-stream", "etag": _md5_of(path)}
        return BlobInfo(key=key, size=size, content_type=meta["content_type"], etag=meta["etag"])

    def _upload_dir(self, key: str, upload_id: str) -> Path:
        check_key(key)
        folder = self._uploads / upload_id
        if not is_valid_id(upload_id) or self._upload_info(folder)[0] != key:
            raise BlobNotFound("no such upload", key=key, upload_id=upload_id)
        return folder

    @staticmethod
    def _upload_info(folder: Path) -> tuple[str, str]:
        try:
            info = json.loads((folder / "upload.json").read_text())
        except (OSError, ValueError):
            raise BlobNotFound("no such upload", upload_id=folder.name) from None
        return info["key"], info["content_type"]

    @staticmethod
    async def _run(fn: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args)
        except OSError as exc:  # disk full, permissions, I/O error: not the caller's fault
            raise Unavailable("the recordings directory cannot be used", reason=type(exc).__name__) from exc
