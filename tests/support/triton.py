"""The model server for integration tests: the session's (scripts/servers.sh, TEST_TRITON_URLS) and
private ones a test may kill (started in their own process group, killed by that group only)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.process import free_port

ROOT = Path(__file__).resolve().parents[2]


def session_triton_urls() -> list[str]:
    urls = [u for u in os.environ.get("TEST_TRITON_URLS", "").split(",") if u]
    if not urls:
        pytest.fail("TEST_TRITON_URLS is not set: run the tests with `eval \"$(scripts/servers.sh)\"` (make test)")
    return urls


class PrivateTriton:
    """``python -m runners.inference`` on free ports; ``kill()`` is SIGKILL to its process group (a crash)."""

    def __init__(self) -> None:
        self.http_port, self.grpc_port, self.metrics_port = free_port(), free_port(), free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="confero-triton-", suffix=".log", delete=False)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def grpc_url(self) -> str:
        return f"grpc://127.0.0.1:{self.grpc_port}"

    def start(self, timeout: float = 180.0) -> None:
        env = {**os.environ, "APP_HOST": "127.0.0.1", "APP_INFERENCE_HTTP_PORT": str(self.http_port),
               "APP_INFERENCE_GRPC_PORT": str(self.grpc_port), "APP_INFERENCE_METRICS_PORT": str(self.metrics_port),
               "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, "-m", "runners.inference"], cwd=ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the model server exited ({self.proc.returncode}); log: {self.log.name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/v2/health/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the model server was not ready within {timeout:.0f} s; log: {self.log.name}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._reap_group()

    def stop(self) -> None:
        """A clean stop (SIGTERM -> Triton.stop()); escalates to kill() if it hangs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def _reap_group(self) -> None:
        # tritonserver and its backend stubs live in the runner's process group; none may outlive a test.
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
