"""The model server for integration tests: the session's (scripts/servers.sh, TEST_TRITON_URLS) and
private ones a test may kill (started in their own process group, killed by that group only)."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from adapters.triton.serving import SERVED
from tests.support.process import free_port

ROOT = Path(__file__).resolve().parents[2]


def session_triton_urls() -> list[str]:
    urls = [u for u in os.environ.get("TEST_TRITON_URLS", "").split(",") if u]
    if not urls:
        pytest.fail("TEST_TRITON_URLS is not set: run the tests with `eval \"$(scripts/servers.sh)\"` (make test)")
    return urls


def _ready(url: str) -> bool:
    # Triton reports itself ready before PyTriton has loaded the models: wait for each model.
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def metrics_url() -> str:
    url = os.environ.get("TEST_TRITON_METRICS_URL", "")
    if not url:
        pytest.fail("TEST_TRITON_METRICS_URL is not set: run the tests with `eval \"$(scripts/servers.sh)\"`")
    return url


class PrivateTriton:
    """``python -m runners.inference`` on free ports; ``kill()`` is SIGKILL to its process group (a crash)."""

    def __init__(self, **env: str) -> None:
        self.extra_env = env
        self.http_port, self.grpc_port, self.metrics_port = free_port(), free_port(), free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="confero-triton-", suffix=".log", delete=False)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def grpc_url(self) -> str:
        return f"grpc://127.0.0.1:{self.grpc_port}"

    def start(self, timeout: float = 180.0) -> None:
        env = {**os.environ, "APP_HOST": "127.0.0.1", "APP_INFERENCE_HTTP_PORT": str(self.http_port),
               "APP_INFERENCE_GRPC_PORT": str(self.grpc_port), "APP_INFERENCE_METRICS_PORT": str(self.metrics_port),
               "PYTHONPATH": str(ROOT), **self.extra_env}
        self.proc = subprocess.Popen([sys.executable, "-m", "runners.inference"], cwd=ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the model server exited ({self.proc.returncode}); log: {self.log.name}")
            if all(_ready(f"http://127.0.0.1:{self.http_port}/v2/models/{m}/ready") for m in SERVED):
                return
            time.sleep(0.5)
        raise RuntimeError(f"the model server was not ready within {timeout:.0f} s; log: {self.log.name}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            workspaces = self._workspaces()
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
            # A killed PyTriton leaves its copied server and its shared-memory files: remove ours only.
            for path in workspaces:
                shutil.rmtree(path, ignore_errors=True)
            for leftover in glob.glob(f"/dev/shm/pytrtion{self.proc.pid}-*"):
                with contextlib.suppress(OSError):
                    os.unlink(leftover)
        self._reap_group()

    @staticmethod
    def group_members(group: int) -> list[int]:
        members = []
        for entry in glob.glob("/proc/[0-9]*"):
            with contextlib.suppress(OSError, ValueError):
                pid = int(entry.rsplit("/", 1)[1])
                if os.getpgid(pid) == group and Path(f"{entry}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    members.append(pid)
        return members

    @staticmethod
    def describe(pids: list[int]) -> str:
        lines = []
        for pid in pids:
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:200]
                lines.append(f"{pid}: {cmdline.decode(errors='replace')}")
        return "; ".join(lines)

    def _workspaces(self) -> set[str]:
        found = set()
        for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
            try:
                if os.getpgid(int(cmdline.split("/")[2])) != self.proc.pid:  # type: ignore[union-attr]
                    continue
                args = Path(cmdline).read_bytes().split(b"\0")
            except OSError:
                continue
            for arg in args:
                match = re.search(rb"(/[^\s]*/pytriton/workspace_[A-Za-z0-9_]+)", arg)
                if match:
                    found.add(match.group(1).decode())
        return found

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
