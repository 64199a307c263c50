"""pytest plugin for the contract suites (entry point ``pytest11: confero_contracts``).

For each test class that subclasses a suite it
- marks the class ``asyncio``, so the suite's async tests run whatever the project's pytest-asyncio
  mode (in strict mode, the adapter's own async fixtures need ``@pytest_asyncio.fixture``);
- marks it ``confero_contract`` (``pytest -m confero_contract`` selects every contract test);
- fails the collection with a clear message when the subclass does not provide the suite's fixture,
  instead of letting every test fail on the suite's placeholder.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "confero_contract: a test of a Confero port contract suite")


def _suite_of(obj: object) -> tuple[type, tuple[str, ...]] | None:
    """The suite a test class subclasses, and the fixtures it must provide (none known: not listed)."""
    from confero_contracts import SUITES

    if not isinstance(obj, type):
        return None
    for base in obj.__mro__[1:]:
        if base in SUITES or base.__module__.startswith("confero_contracts."):
            return base, SUITES.get(base, ())
    return None


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Generator[None, Any, Any]:
    result = yield
    found = _suite_of(obj)
    if found is None or not isinstance(result, pytest.Class):
        return result
    suite, fixtures = found
    mro = obj.__mro__  # type: ignore[attr-defined]
    for fixture in fixtures:
        if not any(fixture in vars(cls) for cls in mro[:mro.index(suite)]):
            raise collector.CollectError(
                f"{obj.__module__}.{name} subclasses {suite.__name__} but does not define the fixture "
                f"{fixture!r} that returns the adapter under test")
    # On the class node, before its functions are collected: pytest-asyncio decides per function at
    # collection time whether it is an asyncio test, by the closest 'asyncio' marker.
    result.add_marker(pytest.mark.asyncio)
    result.add_marker(pytest.mark.confero_contract)
    return result
