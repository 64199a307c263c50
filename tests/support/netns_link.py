"""A second private network namespace joined to ours by a veth pair, with a shaped link (tc tbf).

Runs inside the namespace ``unshare -n`` made for the test (tests/support/netns.py). ``LinkedNetns``
starts a holder process (``sleep``) under ``unshare -n``: its network namespace (B) lives as long as
it does, and the kernel kills it (PR_SET_PDEATHSIG) if we die first, so nothing outlives the test.
One end of a veth pair is moved into B; ours (A) gets ``NEAR_IP``, B's end ``FAR_IP``. Traffic A -> B
leaves through our end, so a token-bucket filter there (``limit``) throttles what B receives
(there is no netem on this kernel: tbf shapes rate only). Both namespaces have no route out.

``nsenter()`` prefixes a command so that it runs in B; ``chromium_wrapper()`` writes a script that
Playwright can use as ``executable_path``: it execs Chromium inside B and keeps Playwright's pipe
file descriptors (``--remote-debugging-pipe`` uses fds 3 and 4), so the browser is driven from A.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.support.netns import current_netns, require_private_netns

# Interface names of the pair (both namespaces are private to the test: no clash with other runs).
NEAR_IF, FAR_IF = "tlnear", "tlfar"
NEAR_IP, FAR_IP = "10.77.0.1", "10.77.0.2"
PREFIX = 24


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG (1) survives the exec of unshare and of sleep (neither is setuid).
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def _run(*cmd: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")


class LinkedNetns:
    """``with LinkedNetns() as far: ...``: namespace B at ``far.pid``; ``far.limit(300)`` throttles A -> B."""

    def __init__(self) -> None:
        self.pid = 0
        self._holder: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LinkedNetns:
        require_private_netns()
        ours = current_netns()
        self._holder = subprocess.Popen(["unshare", "-n", "--", "sleep", "infinity"], preexec_fn=_die_with_parent)
        self.pid = self._holder.pid
        deadline = time.monotonic() + 5.0
        while self._netns_of_holder() in (None, ours):  # before its unshare, the holder is still in A
            if self._holder.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("the holder of the second network namespace did not start")
            time.sleep(0.01)
        try:
            _run("ip", "link", "add", NEAR_IF, "type", "veth", "peer", "name", FAR_IF)
            _run("ip", "link", "set", FAR_IF, "netns", str(self.pid))
            _run("ip", "addr", "add", f"{NEAR_IP}/{PREFIX}", "dev", NEAR_IF)
            _run("ip", "link", "set", NEAR_IF, "up")
            for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", f"{FAR_IP}/{PREFIX}", "dev", FAR_IF],
                        ["ip", "link", "set", FAR_IF, "up"]):
                _run(*self.nsenter(), *cmd)
            self._wait_carrier()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _netns_of_holder(self) -> str | None:
        try:
            return os.readlink(f"/proc/{self.pid}/ns/net")
        except OSError:
            return None

    def _wait_carrier(self) -> None:
        deadline = time.monotonic() + 5.0
        # (not /sys/class/net: sysfs shows the namespace it was mounted in, not ours)
        while " UP " not in subprocess.run(["ip", "-br", "link", "show", "dev", NEAR_IF], capture_output=True,
                                           text=True).stdout + " ":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{NEAR_IF} did not come up")
            time.sleep(0.02)

    def nsenter(self) -> list[str]:
        return ["nsenter", f"--net=/proc/{self.pid}/ns/net", "--"]

    def chromium_wrapper(self, directory: Path, chromium: str | None = None) -> Path:
        binary = chromium or shutil.which("chromium") or "/usr/bin/chromium"
        path = directory / "chromium-in-far-netns"
        path.write_text(f'#!/bin/sh\nexec nsenter --net=/proc/{self.pid}/ns/net -- {binary} "$@"\n')
        path.chmod(0o755)
        return path

    # --- shaping A -> B ------------------------------------------------------------------------------

    def limit(self, rate_kbit: int, burst_bytes: int = 10_000, latency_ms: int = 200) -> float:
        """Throttles what B receives to ``rate_kbit``; returns time.monotonic() when tc returned.
        ``latency_ms``: how long a packet may wait in the bucket's queue before it is dropped."""
        _run("tc", "qdisc", "replace", "dev", NEAR_IF, "root", "tbf", "rate", f"{rate_kbit}kbit",
             "burst", str(burst_bytes), "latency", f"{latency_ms}ms")
        return time.monotonic()

    def lift(self) -> float:
        """No shaping any more (the default qdisc); returns time.monotonic() when tc returned."""
        subprocess.run(["tc", "qdisc", "del", "dev", NEAR_IF, "root"], capture_output=True)
        return time.monotonic()

    def stats(self) -> str:
        return subprocess.run(["tc", "-s", "qdisc", "show", "dev", NEAR_IF], capture_output=True, text=True).stdout

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["ip", "link", "del", NEAR_IF], capture_output=True)  # takes its peer in B with it
        if self._holder is not None and self._holder.poll() is None:
            self._holder.kill()
            self._holder.wait()
