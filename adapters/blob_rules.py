"""S3's rules that the blob stores without a server (memory, directory) apply the same way."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from domain.shared.blobs import PartTooSmall
from domain.shared.errors import InvalidArgument
from ports.blobs import UploadedPart

MAX_PARTS = 10_000


def check_part_number(number: int) -> int:
    if not isinstance(number, int) or not 1 <= number <= MAX_PARTS:
        raise InvalidArgument(f"part numbers are 1-{MAX_PARTS}", number=number)
    return number


def check_complete(parts: Sequence[UploadedPart], uploaded: Sequence[UploadedPart], min_part_size: int) -> None:
    """The parts named at completion: ascending, each one uploaded (same etag), all but the last big enough."""
    if not parts:
        raise InvalidArgument("a multipart upload completes with at least one part")
    numbers = [p.number for p in parts]
    if numbers != sorted(set(numbers)):
        raise InvalidArgument("parts must be listed in ascending order, each once")
    have = {p.number: p for p in uploaded}
    for part in parts:
        found = have.get(part.number)
        if found is None or found.etag != part.etag:
            raise InvalidArgument("a part was not uploaded (or was replaced since)", number=part.number)
    for part in parts[:-1]:
        if have[part.number].size < min_part_size:
            raise PartTooSmall(f"every part but the last must be at least {min_part_size} bytes",
                               number=part.number)


def multipart_etag(etags: Sequence[str]) -> str:
    """S3's etag of a multipart object: the MD5 of the parts' MD5s, and the part count."""
    return f"{hashlib.md5(b''.join(bytes.fromhex(e) for e in etags)).hexdigest()}-{len(etags)}"


def read_range(size: int, start: int, end: int | None) -> tuple[int, int]:
    if start < 0 or (end is not None and end < 0):
        raise InvalidArgument("a read range starts and ends at 0 or later")
    hi = size if end is None else min(end, size)
    return min(start, size), max(min(start, size), hi)
