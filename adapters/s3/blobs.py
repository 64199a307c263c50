"""BlobStore on S3 (MinIO in compose/, moto_server in CI) through aioboto3.

One client for the store's life (``open_s3_blob_store``, a DI Resource), which creates the bucket if
it is missing.  Driver errors become domain errors here: a missing key or upload -> BlobNotFound, a
too small part -> PartTooSmall, an unreachable or failing server -> Unavailable.  The credentials are
handed to the client and kept nowhere else, so no repr or log line carries them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import aioboto3
import aiohttp
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from adapters.blob_rules import check_part_number
from domain.shared.blobs import BlobNotFound, PartTooSmall, check_key, check_prefix
from domain.shared.errors import DomainError, InvalidArgument, Unavailable
from ports.blobs import BlobInfo, PendingUpload, UploadedPart

S3_MIN_PART = 5 * 1024 * 1024
NOT_FOUND = {"NoSuchKey", "NoSuchUpload", "404", "NotFound"}
BAD_PARTS = {"InvalidPart", "InvalidPartOrder", "MalformedXML", "InvalidArgument"}


@contextlib.contextmanager
def translated(key: str | None = None) -> Iterator[None]:
    try:
        yield
    except DomainError:
        raise
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in NOT_FOUND:
            raise BlobNotFound("no such blob or upload", key=key) from None
        if code == "EntityTooSmall":
            raise PartTooSmall(f"every part but the last must be at least {S3_MIN_PART} bytes", key=key) from None
        if code in BAD_PARTS:
            raise InvalidArgument("the parts do not match the upload", key=key, reason=code) from None
        raise Unavailable("the blob store failed", reason=code or "error") from None
    except (BotoCoreError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise Unavailable("the blob store is unavailable", reason=type(exc).__name__) from None


def _etag(raw: str) -> str:
    return raw.strip('"')


class S3BlobStore:
    min_part_size = S3_MIN_PART

    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self.bucket = bucket

    async def ping(self) -> None:
        """Readiness: raises Unavailable when the server does not answer or the bucket is not there."""
        with translated():
            await self._s3.head_bucket(Bucket=self.bucket)

    async def put(self, key: str, data: bytes, content_type: str) -> BlobInfo:
        check_key(key)
        with translated(key):
            reply = await self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        return BlobInfo(key=key, size=len(data), content_type=content_type, etag=_etag(reply["ETag"]))

    async def start_upload(self, key: str, content_type: str) -> str:
        check_key(key)
        with translated(key):
            reply = await self._s3.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type)
        return str(reply["UploadId"])

    async def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> UploadedPart:
        check_key(key)
        check_part_number(number)
        try:
            with translated(key):
                reply = await self._s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                   PartNumber=number, Body=data)
        except Unavailable:
            # Some servers (moto) answer a part for an unknown upload with a 500, not NoSuchUpload.
            await self.uploaded_parts(key, upload_id)
            raise
        return UploadedPart(number=number, etag=_etag(reply["ETag"]), size=len(data))

    async def complete_upload(self, key: str, upload_id: str, parts: Sequence[UploadedPart]) -> BlobInfo:
        check_key(key)
        if not parts:
            raise InvalidArgument("a multipart upload completes with at least one part")
        with translated(key):
            await self._s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": f'"{p.etag}"'} for p in parts]})
        return await self.stat(key)

    async def abort_upload(self, key: str, upload_id: str) -> None:
        check_key(key)
        await self.uploaded_parts(key, upload_id)  # S3 may accept aborting an unknown id silently
        with translated(key):
            await self._s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    async def pending_uploads(self, prefix: str) -> list[PendingUpload]:
        check_prefix(prefix)
        found: list[PendingUpload] = []
        with translated():
            async for page in self._s3.get_paginator("list_multipart_uploads").paginate(
                    Bucket=self.bucket, Prefix=prefix):
                found += [PendingUpload(key=u["Key"], upload_id=u["UploadId"]) for u in page.get("Uploads", [])]
        return sorted(found, key=lambda p: (p.key, p.upload_id))

    async def uploaded_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        check_key(key)
        found: list[UploadedPart] = []
        with translated(key):
            async for page in self._s3.get_paginator("list_parts").paginate(
                    Bucket=self.bucket, Key=key, UploadId=upload_id):
                found += [UploadedPart(number=p["PartNumber"], etag=_etag(p["ETag"]), size=p["Size"])
                          for p in page.get("Parts", [])]
        return sorted(found, key=lambda p: p.number)

    async def stat(self, key: str) -> BlobInfo:
        check_key(key)
        with translated(key):
            head = await self._s3.head_object(Bucket=self.bucket, Key=key)
        return BlobInfo(key=key, size=head["ContentLength"], content_type=head.get("ContentType", ""),
                        etag=_etag(head["ETag"]))

    async def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        check_key(key)
        if start < 0 or (end is not None and end < 0):
            raise InvalidArgument("a read range starts and ends at 0 or later")
        if end is not None and end <= start:
            await self.stat(key)
            return b""
        wanted = f"bytes={start}-" + ("" if end is None else str(end - 1))
        try:
            with translated(key):
                reply = await self._s3.get_object(Bucket=self.bucket, Key=key, Range=wanted)
                async with reply["Body"] as body:
                    return bytes(await body.read())
        except Unavailable as exc:
            if exc.details.get("reason") == "InvalidRange":  # starts at or after the end
                await self.stat(key)
                return b""
            raise

    async def list(self, prefix: str) -> list[BlobInfo]:
        check_prefix(prefix)
        keys: list[str] = []
        with translated():
            async for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                keys += [o["Key"] for o in page.get("Contents", [])]
        found = []
        for key in sorted(keys):
            with contextlib.suppress(BlobNotFound):  # deleted meanwhile
                found.append(await self.stat(key))
        return found

    async def delete(self, key: str) -> None:
        check_key(key)
        with translated(key):
            await self._s3.delete_object(Bucket=self.bucket, Key=key)

    async def download_url(self, key: str, expires_in: dt.timedelta, filename: str | None = None) -> str | None:
        await self.stat(key)
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if filename:
            safe = "".join(c for c in filename if c.isascii() and c.isprintable() and c not in '"\\')
            params["ResponseContentDisposition"] = f'attachment; filename="{safe}"'
        with translated(key):
            return str(await self._s3.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=max(1, int(expires_in.total_seconds()))))


@contextlib.asynccontextmanager
async def open_s3_blob_store(*, endpoint: str, bucket: str, region: str, access_key: str, secret_key: str,
                             connect_timeout: float = 3.0, read_timeout: float = 30.0,
                             attempts: int = 3) -> AsyncIterator[S3BlobStore]:
    """Raises Unavailable when the server cannot be reached or the bucket cannot be made."""
    session = aioboto3.Session()
    config = Config(connect_timeout=connect_timeout, read_timeout=read_timeout, s3={"addressing_style": "path"},
                    retries={"max_attempts": attempts, "mode": "standard"}, signature_version="s3v4")
    with translated():
        client_cm = session.client("s3", endpoint_url=endpoint or None, region_name=region or "us-east-1",
                                   aws_access_key_id=access_key or None, aws_secret_access_key=secret_key or None,
                                   config=config)
        client = await client_cm.__aenter__()
    try:
        await _ensure_bucket(client, bucket, region)
        yield S3BlobStore(client, bucket)
    finally:
        await client_cm.__aexit__(None, None, None)


async def _ensure_bucket(client: Any, bucket: str, region: str) -> None:
    with translated():
        try:
            await client.head_bucket(Bucket=bucket)
            return
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in ("404", "NoSuchBucket", "NotFound"):
                raise
        extra = {} if region in ("", "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        try:
            await client.create_bucket(Bucket=bucket, **extra)
        except ClientError as exc:  # another process made it first
            if str(exc.response.get("Error", {}).get("Code")) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
