"""Confero's port contract suites, for any adapter: yours too.

Each suite is a class of async tests written once against a port's docstring (``ports/``).  Subclass
it, provide the one fixture it leaves abstract (an instance of your adapter), and run pytest::

    import pytest_asyncio
    from confero_contracts import SessionStoreContract

    class TestMySessionStore(SessionStoreContract):
        @pytest_asyncio.fixture
        async def store(self):
            async with open_my_client() as client:
                yield MySessionStore(client)

The pytest plugin (``confero_contracts.plugin``, loaded by the ``pytest11`` entry point when Confero
is installed) runs the suites' tests under pytest-asyncio and marks them ``confero_contract``.
docs/architecture.md, section 7, lists the suites and their fixtures.
"""

from __future__ import annotations

from tests.contracts.sessions import SessionStoreContract
from tests.contracts.users import UserRepositoryContract

# Every suite, with the names of the fixtures an adapter's subclass must provide.
SUITES: dict[type, tuple[str, ...]] = {
    UserRepositoryContract: ("repo",),
    SessionStoreContract: ("store",),
}

__all__ = ["SUITES", "SessionStoreContract", "UserRepositoryContract"]
