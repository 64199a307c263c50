"""Dead letters as administrators see them."""

from __future__ import annotations

from attrs import define

from domain.messaging.errors import AdministratorsOnly
from domain.shared.actor import Actor
from domain.shared.pagination import Page, PageRequest
from ports.dead_letters import DeadLetter, DeadLetters


@define
class DeadLetterService:
    """Rules: administrators only (AdministratorsOnly otherwise)."""

    letters: DeadLetters

    async def list(self, actor: Actor, page: PageRequest) -> Page[DeadLetter]:
        _require_admin(actor)
        return await self.letters.list(page)

    async def replay(self, actor: Actor, letter_id: str) -> None:
        """Raises DeadLetterNotFound for an unknown id."""
        _require_admin(actor)
        await self.letters.replay(letter_id)


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise AdministratorsOnly("only administrators can see dead letters")
