"""BlobStore in memory: the embedded default's files (lost with the process) and the oracle of the
contract suite.  Same rules as S3, including the minimum part size (configurable for tests)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from attrs import define, field

from adapters.blob_rules import check_complete, check_part_number, multipart_etag, read_range
from domain.shared.blobs import BlobNotFound, check_key, check_prefix
from domain.shared.ids import new_id
from ports.blobs import BlobInfo, PendingUpload, UploadedPart

S3_MIN_PART = 5 * 1024 * 1024


@define
class _Upload:
    key: str
    content_type: str
    parts: dict[int, bytes] = field(factory=dict)


class InMemoryBlobStore:
    def __init__(self, min_part_size: int = S3_MIN_PART) -> None:
        self.min_part_size = min_part_size
        self._objects: dict[str, tuple[bytes, BlobInfo]] = {}
        self._uploads: dict[str, _Upload] = {}

    async def put(self, key: str, data: bytes, content_type: str) -> BlobInfo:
        info = BlobInfo(key=check_key(key), size=len(data), content_type=content_type,
                        etag=hashlib.md5(data).hexdigest())
        self._objects[key] = (bytes(data), info)
        return info

    async def start_upload(self, key: str, content_type: str) -> str:
        upload_id = new_id()
        self._uploads[upload_id] = _Upload(check_key(key), content_type)
        return upload_id

    async def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> UploadedPart:
        upload = self._upload(key, upload_id)
        upload.parts[check_part_number(number)] = bytes(data)
        return UploadedPart(number=number, etag=hashlib.md5(data).hexdigest(), size=len(data))

    async def complete_upload(self, key: str, upload_id: str, parts: Sequence[UploadedPart]) -> BlobInfo:
        upload = self._upload(key, upload_id)
        check_complete(parts, await self.uploaded_parts(key, upload_id), self.min_part_size)
        data = b"".join(upload.parts[p.number] for p in parts)
        info = BlobInfo(key=key, size=len(data), content_type=upload.content_type,
                        etag=multipart_etag([p.etag for p in parts]))
        self._objects[key] = (data, info)
        del self._uploads[upload_id]
        return info

    async def abort_upload(self, key: str, upload_id: str) -> None:
        self._upload(key, upload_id)
        del self._uploads[upload_id]

    async def pending_uploads(self, prefix: str) -> list[PendingUpload]:
        check_prefix(prefix)
        found = [PendingUpload(key=u.key, upload_id=i) for i, u in self._uploads.items() if u.key.startswith(prefix)]
        return sorted(found, key=lambda p: (p.key, p.upload_id))

    async def uploaded_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        upload = self._upload(key, upload_id)
        return [UploadedPart(number=n, etag=hashlib.md5(d).hexdigest(), size=len(d))
                for n, d in sorted(upload.parts.items())]

    async def stat(self, key: str) -> BlobInfo:
        return self._object(key)[1]

    async def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        data = self._object(key)[0]
        lo, hi = read_range(len(data), start, end)
        return data[lo:hi]

    async def list(self, prefix: str) -> list[BlobInfo]:
        check_prefix(prefix)
        return [info for k, (_, info) in sorted(self._objects.items()) if k.startswith(prefix)]

    async def delete(self, key: str) -> None:
        self._objects.pop(check_key(key), None)

    async def download_url(self, key: str, expires_in: dt.timedelta, filename: str | None = None) -> str | None:
        self._object(key)
        return None

    def _object(self, key: str) -> tuple[bytes, BlobInfo]:
        try:
            return self._objects[check_key(key)]
        except KeyError:
            raise BlobNotFound("no such blob", key=key) from None

    def _upload(self, key: str, upload_id: str) -> _Upload:
        upload = self._uploads.get(upload_id)
        if upload is None or upload.key != check_key(key):
            raise BlobNotFound("no such upload", key=key, upload_id=upload_id)
        return upload
