"""Run WebRTC code only inside a private network namespace (``unshare -n``, loopback up).

The test process never sends media itself: it starts ``python -m MODULE ARGS`` under
``unshare -n`` and reads the child's result from the last ``RESULT <json>`` line of its stdout.
Code that opens peer connections calls ``require_private_netns()`` first, and
``allow_loopback_candidates()`` because aioice leaves 127.0.0.1 out of its host candidates.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULT_PREFIX = "RESULT "


class NotInPrivateNetns(RuntimeError):
    """WebRTC traffic was about to leave a network namespace created for the test."""


PARENT_NETNS = "TEST_PARENT_NETNS"


def current_netns() -> str:
    return os.readlink("/proc/self/ns/net")


def in_private_netns() -> bool:
    """True in a namespace other than the one that started us, whose only interface is lo."""
    try:
        ours = current_netns()
        with open("/proc/self/net/dev") as dev:
            names = {line.split(":")[0].strip() for line in dev.readlines()[2:]}
    except OSError:
        return False
    outer = os.environ.get(PARENT_NETNS)
    return names == {"lo"} and outer is not None and outer != ours


def require_private_netns() -> None:
    if not in_private_netns():
        raise NotInPrivateNetns("run this under `unshare -n` (see tests/support/netns.py)")


def allow_loopback_candidates() -> None:
    """Inside the private namespace the only address is 127.0.0.1: make aioice offer it."""
    require_private_netns()
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []


def unshare_available() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None and shutil.which("ip") is not None


def require_unshare() -> None:
    """For pytest: a machine that cannot make namespaces fails the WebRTC tests, never skips them
    (``make test`` installs util-linux and iproute2 and CI runs as root)."""
    if not unshare_available():
        import pytest

        pytest.fail("WebRTC tests need root, unshare and ip (iproute2) to make a private network namespace")


def environment() -> dict[str, str]:
    """For a child started under ``command()`` by other means than ``run_module``."""
    # The repository first; a PYTHONPATH the caller had (extra packages of a local run) stays behind it.
    path = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {**os.environ, "PYTHONPATH": path, PARENT_NETNS: current_netns()}


LOOPBACK_ONLY = "ip link set lo up"


def command(module: str, *args: str) -> list[str]:
    return _unshared(LOOPBACK_ONLY, ["-m", module, *args])


def _unshared(setup: str, python_args: list[str]) -> list[str]:
    # ``setup`` runs as root inside the new namespace, then the shell becomes the Python child.
    return ["unshare", "-n", "--", "sh", "-c", f'{setup} && exec "$0" "$@"', sys.executable, *python_args]


def run_in_netns(python_args: list[str], *, setup: str = LOOPBACK_ONLY,
                 timeout: float | None = None) -> tuple[dict[str, Any], str]:
    """Runs ``python ARGS`` in a fresh namespace; returns (its last RESULT, its whole output) or
    raises AssertionError with the tail of the output."""
    proc = subprocess.run(_unshared(setup, python_args), cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=environment())
    output = proc.stdout + proc.stderr
    results = [line[len(RESULT_PREFIX):] for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not results:
        raise AssertionError(f"{' '.join(python_args)} exited {proc.returncode}:\n{output[-6000:]}")
    return json.loads(results[-1]), output


def run_module(module: str, *args: str, timeout: float = 90.0) -> tuple[dict[str, Any], str]:
    return run_in_netns(["-m", module, *args], timeout=timeout)


def emit_result(result: dict[str, Any]) -> None:
    print(RESULT_PREFIX + json.dumps(result), flush=True)
