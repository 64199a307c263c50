"""Private PostgreSQL and Redis servers that a test may stop and restart (fault tests).

Stopped by their own PID / data directory, never by process name.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

from tests.support.process import free_port


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian package postgresql)")
    return found[-1]


class PrivatePostgres:
    """A throw-away cluster on its own port, run as the postgres user (PostgreSQL refuses root)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="confero-pg-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self._as_postgres(_pg_bin("initdb"), "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(_pg_bin("pg_ctl"), "-D", self.data, "-w", "-l", os.path.join(self.dir, "log"),
                          "-o", opts, "start")

    def stop(self) -> None:
        self._as_postgres(_pg_bin("pg_ctl"), "-D", self.data, "-w", "-m", "immediate", "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _as_postgres(*cmd: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True, capture_output=True, timeout=60)


class PrivateRedis:
    """``persistent`` turns on the append-only file (fsync always), as production Redis must run for
    sessions to outlive a Redis restart."""

    def __init__(self, persistent: bool = True) -> None:
        self.port = free_port()
        self.persistent = persistent
        self.dir = tempfile.mkdtemp(prefix="confero-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "yes" if self.persistent else "no", "--appendfsync", "always", "--dir", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
            if probe.stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("private redis did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateEtcd:
    """A one-member etcd of its own (client and peer ports, data directory) that a test may kill and
    start again on the same data: stopped by its own PID, never by name."""

    def __init__(self) -> None:
        binary = shutil.which("etcd")
        if binary is None:
            raise RuntimeError("etcd is not installed (Debian package etcd-server; scripts/servers.sh installs it)")
        self.binary = binary
        self.port, self.peer_port = free_port(), free_port()
        self.dir = tempfile.mkdtemp(prefix="confero-etcd-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        client, peer = self.url, f"http://127.0.0.1:{self.peer_port}"
        with open(os.path.join(self.dir, "etcd.log"), "ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "--name", "n1", "--data-dir", os.path.join(self.dir, "data"),
                 "--listen-client-urls", client, "--advertise-client-urls", client,
                 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                 "--initial-cluster", f"n1={peer}", "--initial-cluster-state", "new"],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"private etcd exited; see {self.dir}/etcd.log")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as answer:
                    if b'"health":"true"' in answer.read():
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"private etcd did not become healthy; see {self.dir}/etcd.log")

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is flushed beyond what etcd already made durable."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
