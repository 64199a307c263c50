"""Where files live: S3 semantics (MinIO and moto in production and CI, a directory or memory embedded)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from attrs import frozen


@frozen(kw_only=True)
class BlobInfo:
    key: str
    size: int
    content_type: str
    etag: str


@frozen(kw_only=True)
class UploadedPart:
    """One acknowledged part of a multipart upload: once ``upload_part`` returned it, it survives a
    crash of the uploader until the upload is completed or aborted."""

    number: int
    etag: str
    size: int


@frozen(kw_only=True)
class PendingUpload:
    key: str
    upload_id: str


class BlobStore(Protocol):
    """Objects by key in one bucket.  Keys are ``/``-separated paths of printable ASCII without spaces
    (at most 1024 characters; domain.shared.blobs.check_key); a key that is
    empty, starts with ``/``, or holds ``..`` segments raises InvalidBlobKey (INVALID_ARGUMENT).
    Every method may raise Unavailable when the store cannot be reached; nothing acknowledged before is
    lost by that.

    Multipart uploads (S3 semantics): ``start_upload`` returns an upload id; parts are numbered from 1
    and every part but the last must be at least ``min_part_size`` bytes (5 MiB on S3), else
    ``complete_upload`` raises PartTooSmall (INVALID_ARGUMENT).  Uploading a
    part number again replaces it.  ``complete_upload`` joins the given parts in order into the object
    (replacing any object under the key) and ends the upload; ``abort_upload`` drops it and its parts.
    ``pending_uploads`` and ``uploaded_parts`` find what a crashed uploader left, so it can be completed.
    An unknown upload id raises BlobNotFound.

    Reads: ``read`` returns bytes ``[start, end)`` (``end`` None = to the end, clamped to the size);
    ``stat`` and ``read`` raise BlobNotFound for a missing key.  ``list`` returns the objects whose key
    starts with ``prefix``, sorted by key.  ``delete`` is idempotent.

    ``download_url`` returns a URL that reads the object without other credentials until ``expires_in``
    has passed (S3: a presigned GET, with ``filename`` as the Content-Disposition), or None when the
    store cannot sign links itself (directory, memory): the runner then serves its own signed link.
    It raises BlobNotFound for a missing key.

    Parts of an upload in progress are kept by the store, not by the uploader: memory keeps them for the
    process's life, the directory store in files (a crash of the process leaves them), S3 on the server.
    """

    min_part_size: int

    async def put(self, key: str, data: bytes, content_type: str) -> BlobInfo: ...
    async def start_upload(self, key: str, content_type: str) -> str: ...
    async def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> UploadedPart: ...
    async def complete_upload(self, key: str, upload_id: str, parts: Sequence[UploadedPart]) -> BlobInfo: ...
    async def abort_upload(self, key: str, upload_id: str) -> None: ...
    async def pending_uploads(self, prefix: str) -> list[PendingUpload]: ...
    async def uploaded_parts(self, key: str, upload_id: str) -> list[UploadedPart]: ...
    async def stat(self, key: str) -> BlobInfo: ...
    async def read(self, key: str, start: int = 0, end: int | None = None) -> bytes: ...
    async def list(self, prefix: str) -> list[BlobInfo]: ...
    async def delete(self, key: str) -> None: ...
    async def download_url(self, key: str, expires_in: dt.timedelta, filename: str | None = None) -> str | None: ...
