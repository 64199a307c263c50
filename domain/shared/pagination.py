from __future__ import annotations

from typing import Generic, TypeVar

from attrs import frozen

from domain.shared.errors import InvalidArgument

T = TypeVar("T")

MAX_PAGE_SIZE = 100


@frozen
class PageRequest:
    offset: int = 0
    limit: int = 20

    def __attrs_post_init__(self) -> None:
        if self.offset < 0:
            raise InvalidArgument("offset must be >= 0", field="offset")
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise InvalidArgument(f"limit must be between 1 and {MAX_PAGE_SIZE}", field="limit")


@frozen
class Page(Generic[T]):
    items: tuple[T, ...]
    total: int
    offset: int
    limit: int
