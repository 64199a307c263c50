"""Where a recorded stay lives in the blob store while it is written, and how it is finished.

Layout under the recording's ``key_prefix``:

- ``parts/<user>/<stay>/stay.json``: who and when (written before the first chunk);
- ``parts/<user>/<stay>/c000001`` ...: the streamed WebM bytes, one object every upload interval.
  S3 parts must be >= 5 MiB but a few seconds of a call are ~100-500 kB, so the progressive copy is
  small objects, not a multipart upload;
- ``<user>-<stay>.webm``: the finished file (chunks joined, stream-copied with duration and cues),
  uploaded with multipart in ``min_part_size`` parts when large;
- ``parts/<user>/<stay>/done.json``: the finished file's facts; the chunks are deleted after it.

``finish_stay`` serves both the recorder at stop and ``recover`` after a crash: it only reads what
the store acknowledged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import tempfile
from pathlib import Path

from adapters.webm.remux import NothingToSave, rebuild
from domain.recordings.media import RecordedFile
from domain.shared.ids import UserId
from ports.blobs import BlobStore, UploadedPart

log = logging.getLogger(__name__)
WEBM = "video/webm"
JSON = "application/json"
PARTS = "parts"


def stay_prefix(key_prefix: str, user_id: str, stay: int) -> str:
    return f"{key_prefix}/{PARTS}/{user_id}/{stay:03d}/"


def chunk_key(key_prefix: str, user_id: str, stay: int, number: int) -> str:
    return f"{stay_prefix(key_prefix, user_id, stay)}c{number:06d}"


def file_key(key_prefix: str, user_id: str, stay: int) -> str:
    return f"{key_prefix}/{user_id}-{stay:03d}.webm"


def stay_document(user_id: str, started_at: dt.datetime) -> bytes:
    return json.dumps({"user_id": user_id, "started_at": started_at.isoformat()}).encode()


async def upload_file(blobs: BlobStore, key: str, path: Path, content_type: str) -> int:
    """One object from a local file: a single put when small, else multipart in minimal parts."""
    size = path.stat().st_size
    part_size = max(blobs.min_part_size, 1)
    if size < 2 * part_size:
        await blobs.put(key, path.read_bytes(), content_type)
        return size
    upload_id = await blobs.start_upload(key, content_type)
    try:
        parts: list[UploadedPart] = []
        with path.open("rb") as data:
            while chunk := data.read(part_size):
                rest = size - data.tell()
                if 0 < rest < part_size:  # fold a short tail into this part: only the last may be small
                    chunk += data.read()
                parts.append(await blobs.upload_part(key, upload_id, len(parts) + 1, chunk))
        await blobs.complete_upload(key, upload_id, parts)
    except BaseException:
        await blobs.abort_upload(key, upload_id)
        raise
    return size


def _file_from(document: dict[str, object]) -> RecordedFile:
    return RecordedFile(
        key=str(document["key"]), user_id=UserId(str(document["user_id"])), content_type=WEBM,
        size=int(document["size"]), duration_s=float(document["duration_s"]),  # type: ignore[arg-type]
        started_at=dt.datetime.fromisoformat(str(document["started_at"])),
        ended_at=dt.datetime.fromisoformat(str(document["ended_at"])),
        has_video=bool(document["has_video"]), has_audio=bool(document["has_audio"]))


def _document(file: RecordedFile) -> bytes:
    return json.dumps({"key": file.key, "user_id": file.user_id, "size": file.size, "duration_s": file.duration_s,
                       "started_at": file.started_at.isoformat(), "ended_at": file.ended_at.isoformat(),
                       "has_video": file.has_video, "has_audio": file.has_audio}).encode()


async def finish_stay(blobs: BlobStore, key_prefix: str, user_id: str, stay: int) -> RecordedFile | None:
    """The stay's finished file (made now from its chunks, or found done); None when nothing playable
    was uploaded.  Idempotent: a crash in the middle leaves chunks that a later call finishes."""
    prefix = stay_prefix(key_prefix, user_id, stay)
    objects = {info.key.removeprefix(prefix): info for info in await blobs.list(prefix)}
    if "done.json" in objects:
        done = _file_from(json.loads(await blobs.read(prefix + "done.json")))
        await _delete_chunks(blobs, prefix, objects)
        return done
    if "stay.json" not in objects:
        return None
    started_at = dt.datetime.fromisoformat(json.loads(await blobs.read(prefix + "stay.json"))["started_at"])
    chunks = sorted(name for name in objects if name.startswith("c"))
    key = file_key(key_prefix, user_id, stay)
    with tempfile.TemporaryDirectory(prefix="recording-") as tmp:
        streamed, finished = Path(tmp) / "streamed.webm", Path(tmp) / "finished.webm"
        with streamed.open("wb") as out:
            for name in chunks:
                out.write(await blobs.read(prefix + name))
        try:
            facts = await asyncio.to_thread(rebuild, streamed, finished)  # off the forwarding loop
        except NothingToSave as exc:
            log.warning("recorded stay has nothing playable", extra={"stay": prefix, "reason": str(exc)})
            return None
        size = await upload_file(blobs, key, finished, WEBM)
    file = RecordedFile(key=key, user_id=UserId(user_id), content_type=WEBM, size=size, duration_s=facts.duration_s,
                        started_at=started_at, ended_at=started_at + dt.timedelta(seconds=facts.duration_s),
                        has_video=facts.has_video, has_audio=facts.has_audio)
    await blobs.put(prefix + "done.json", _document(file), JSON)
    await _delete_chunks(blobs, prefix, objects)
    return file


async def _delete_chunks(blobs: BlobStore, prefix: str, objects: dict[str, object]) -> None:
    for name in objects:
        if name.startswith("c"):
            await blobs.delete(prefix + name)


async def stays(blobs: BlobStore, key_prefix: str) -> list[tuple[str, int]]:
    """Every (user, stay) that has a ``stay.json`` under the recording."""
    found = set()
    root = f"{key_prefix}/{PARTS}/"
    for info in await blobs.list(root):
        parts = info.key.removeprefix(root).split("/")
        if len(parts) == 3 and parts[2] == "stay.json" and parts[1].isdigit():
            found.add((parts[0], int(parts[1])))
    return sorted(found)
