"""A pytest plugin (``-p tests.support.pytest_result``) for a pytest run inside a private network
namespace (tests/support/netns.py): at the end it prints ``RESULT {"passed": [...], "failed": [...]}``."""

from __future__ import annotations

from typing import Any

from tests.support.netns import emit_result

_passed: list[str] = []
_failed: list[str] = []


def pytest_runtest_logreport(report: Any) -> None:
    if report.when == "call" and report.passed:
        _passed.append(report.nodeid)
    elif report.failed:
        _failed.append(f"{report.nodeid} ({report.when})")


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    print(flush=True)  # the progress line may not have ended
    emit_result({"passed": _passed, "failed": _failed, "exit": int(exitstatus)})
