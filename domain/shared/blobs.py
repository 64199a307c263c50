"""Errors of the blob store port (ports/blobs.py), shared by every context that keeps files."""

from __future__ import annotations

from domain.shared.errors import InvalidArgument, NotFound


class InvalidBlobKey(InvalidArgument):
    pass


class PartTooSmall(InvalidArgument):
    pass


class BlobNotFound(NotFound):
    pass
