"""Start the real all-in-one process on a free port and wait for /health."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def allinone(env: dict[str, str], log_path: Path, timeout: float = 20.0,
             module: str = "runners.allinone", port_variable: str = "APP_PORT") -> Iterator[str]:
    """Yields the base URL; stops the process with SIGTERM (then SIGKILL) afterwards.  ``port_variable``:
    the variable that sets the process's HTTP port (``APP_AI_PORT`` for runners.ai)."""
    with process(env, log_path, timeout, module, port_variable) as (base, _):
        yield base


@contextlib.contextmanager
def process(env: dict[str, str], log_path: Path, timeout: float = 20.0,
            module: str = "runners.allinone",
            port_variable: str = "APP_PORT") -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Like allinone, and yields the Popen too (for tests that crash it)."""
    port = free_port()
    # Every test registers from 127.0.0.1 and the shared Redis keeps counts between runs: the
    # per-address registration budget is lifted unless a test sets it.
    full_env = {**os.environ, "APP_HOST": "127.0.0.1", port_variable: str(port),
                "APP_REGISTRATIONS_PER_ADDRESS": "100000", **env}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=full_env,
                                stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{module} exited with {proc.returncode}; see {log_path}")
                try:
                    with urllib.request.urlopen(base + "/health", timeout=1) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{module} did not answer /health in {timeout}s; see {log_path}")
                time.sleep(0.1)
            yield base, proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
