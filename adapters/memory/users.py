from __future__ import annotations

from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest
from domain.users.errors import EmailTaken, UserNotFound, UsernameTaken
from domain.users.model import User


class InMemoryUserRepository:
    """Dict-backed UserRepository; the embedded default and the oracle for other adapters."""

    def __init__(self) -> None:
        self._by_id: dict[UserId, User] = {}

    async def add(self, user: User) -> None:
        if user.id in self._by_id:
            raise AlreadyExists("user exists", user_id=user.id)
        self._check_unique(user)
        stored = user.copy()
        self._by_id[user.id] = stored

    async def get(self, user_id: UserId) -> User:
        try:
            return self._by_id[user_id].copy()
        except KeyError:
            raise UserNotFound("no such user", user_id=user_id) from None

    async def find_by_login(self, login: str) -> User | None:
        key = login.strip().lower()
        for user in self._by_id.values():
            if user.username.lower() == key or user.email == key:
                return user.copy()
        return None

    async def find_by_email(self, email: str) -> User | None:
        key = email.strip().lower()
        for user in self._by_id.values():
            if user.email == key:
                return user.copy()
        return None

    async def save(self, user: User) -> None:
        current = self._by_id.get(user.id)
        if current is None:
            raise UserNotFound("no such user", user_id=user.id)
        if current.version != user.version:
            raise ConcurrentModification("the user was changed by someone else")
        self._check_unique(user)
        user.version += 1
        self._by_id[user.id] = user.copy()

    async def search(self, query: str, page: PageRequest) -> Page[User]:
        q = query.lower()
        hits = [u for u in self._by_id.values()
                if not q or q in u.username.lower() or q in u.email or q in u.display_name.lower()]
        hits.sort(key=lambda u: (u.created_at, u.id))
        window = hits[page.offset:page.offset + page.limit]
        return Page(items=tuple(u.copy() for u in window), total=len(hits), offset=page.offset, limit=page.limit)

    def _check_unique(self, user: User) -> None:
        others = [o for o in self._by_id.values() if o.id != user.id]
        # Username first, whatever the insertion order (as the PostgreSQL adapter answers).
        if any(o.username.lower() == user.username.lower() for o in others):
            raise UsernameTaken("username is taken", field="username")
        if any(o.email == user.email for o in others):
            raise EmailTaken("email is taken", field="email")
