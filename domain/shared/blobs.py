"""Errors of the blob store port (ports/blobs.py), shared by every context that keeps files."""

from __future__ import annotations

from domain.shared.errors import InvalidArgument, NotFound


class InvalidBlobKey(InvalidArgument):
    pass


class PartTooSmall(InvalidArgument):
    pass


class BlobNotFound(NotFound):
    pass


KEY_MAX = 1024


def check_key(key: str) -> str:
    """The key itself if it is a valid blob key (ports/blobs.py), else InvalidBlobKey."""
    if not isinstance(key, str) or not key or len(key) > KEY_MAX:
        raise InvalidBlobKey("a blob key is 1-1024 characters", key=str(key)[:80])
    if any(not (0x21 <= ord(c) <= 0x7E) for c in key):
        raise InvalidBlobKey("a blob key is printable ASCII without spaces", key=key.encode("ascii", "replace")[:80].decode())
    if key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidBlobKey("a blob key is a relative path without empty, '.' or '..' segments", key=key[:80])
    return key


def check_prefix(prefix: str) -> str:
    """A list prefix: empty, or what a key may start with."""
    if prefix:
        check_key(prefix.rstrip("/") or "/")
    return prefix
