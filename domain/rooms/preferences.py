"""A member's media preferences in a room (docs/signaling.md 13.9, 13.11) and how one ``media_preferences``
message changes them: each field it carries replaces that field, a field it leaves out keeps its value.

Why per field: clients send different fields at different times (the web client sends its tile sizes
alone whenever a tile resizes), and a message that replaced everything would silently drop the
member's last-N and pins.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from attrs import field, frozen

from domain.rooms.layers import TileSize
from domain.shared.ids import UserId


class Unchanged(enum.Enum):
    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


@frozen(kw_only=True)
class MediaPreferences:
    last_n: int | None = None  # None: the server's default N
    pinned: frozenset[UserId] = frozenset()
    video_sizes: Mapping[str, TileSize] = field(factory=dict)  # "<user id>" / "<user id>:screen" -> its tile


NO_PREFERENCES = MediaPreferences()


@frozen(kw_only=True)
class PreferencesChange:
    """What one message says; ``UNCHANGED`` for each field it left out (``last_n`` None is a value: the
    server's default; an empty ``pinned`` or ``video_sizes`` is a value too: none)."""

    last_n: int | None | Unchanged = UNCHANGED
    pinned: frozenset[UserId] | Unchanged = UNCHANGED
    video_sizes: Mapping[str, TileSize] | Unchanged = UNCHANGED

    def applied_to(self, current: MediaPreferences) -> MediaPreferences:
        return MediaPreferences(
            last_n=current.last_n if isinstance(self.last_n, Unchanged) else self.last_n,
            pinned=current.pinned if isinstance(self.pinned, Unchanged) else self.pinned,
            video_sizes=current.video_sizes if isinstance(self.video_sizes, Unchanged) else dict(self.video_sizes))
