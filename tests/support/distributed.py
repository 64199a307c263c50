"""Every service as its own process (issue 14), for the multi-process tests and bench/distributed.py:
an etcd of the test's own (it can be stopped and started again), users, meetings, signaling processes
without a database, media nodes, and the gateway in front, each started with ``python -m`` on free ports.

PostgreSQL and Redis are given (a DSN and a URL); ``fresh_database`` makes a database of a run's own and
``redis_server`` starts a Redis of the caller's own (inside a private network namespace, where the
machine's Redis cannot be reached)."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from attrs import define, field

from tests.support.process import free_port, process

SETTLE = 60.0  # bound of every wait for a process or a server to come up (never a timing assertion)


@define
class Etcd:
    """An etcd of the test's own, in ``directory``, on free loopback ports; ``stop``/``start`` keep its data."""

    directory: Path
    client_port: int = field(factory=free_port)
    peer_port: int = field(factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    def start(self) -> None:
        binary = shutil.which("etcd")
        if binary is None:
            raise RuntimeError("etcd is not installed (scripts/servers.sh installs Debian's etcd-server)")
        peer = f"http://127.0.0.1:{self.peer_port}"
        log = open(self.directory / "etcd.log", "ab")  # noqa: SIM115  (closed with the process)
        self.proc = subprocess.Popen(
            [binary, "--name", "confero-test", "--data-dir", str(self.directory / "data"),
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", f"confero-test={peer}", "--initial-cluster-state", "new"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + SETTLE
        while not self.healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"etcd did not come up; see {self.directory / 'etcd.log'}")
            time.sleep(0.1)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                return b'"health":"true"' in r.read()
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@contextlib.contextmanager
def own_etcd(directory: Path) -> Iterator[Etcd]:
    directory.mkdir(parents=True, exist_ok=True)
    etcd = Etcd(directory)
    etcd.start()
    try:
        yield etcd
    finally:
        etcd.stop()


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A Redis of the caller's own on a free loopback port (no persistence); yields its URL."""
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no", "--dir", str(directory)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + SETTLE
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not come up")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.asynccontextmanager
async def fresh_database(server_dsn: str) -> AsyncIterator[str]:
    """A database of this run's own on the server of ``server_dsn``, dropped afterwards; yields its DSN."""
    import asyncpg

    name = f"confero_dist_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base, _, query = server_dsn.partition("?")
        yield base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@define
class Member:
    """One process of the cluster: its instance id, HTTP base URL, the Popen, and the metrics URL."""

    instance_id: str
    base: str
    proc: subprocess.Popen[bytes]
    metrics: str | None = None
    grpc: str | None = None  # host:port of its gRPC server, if it has one

    def kill(self) -> None:
        """kill -9: nothing deregisters; its lease runs out."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@define
class Cluster:
    gateway: str
    gateway_proc: subprocess.Popen[bytes]
    etcd: Etcd
    env: dict[str, str]
    members: dict[str, list[Member]]

    def of(self, service: str) -> list[Member]:
        return self.members[service]


def signaling_sockets(member: Member) -> int:
    """Open signaling sockets of a signaling process (its confero_signaling_sockets gauge)."""
    assert member.metrics is not None
    with urllib.request.urlopen(member.metrics + "/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("confero_signaling_sockets "):
                return int(float(line.split()[1]))
    raise AssertionError("no confero_signaling_sockets gauge")


@contextlib.contextmanager
def cluster(tmp_path: Path, dsn: str, redis_url: str, etcd: Etcd, *, meetings: int = 1, signaling: int = 2,
            media: int = 0, users: int = 1, extra: dict[str, str] | None = None,
            media_extra: dict[str, str] | None = None,
            service_env: dict[str, dict[str, str]] | None = None) -> Iterator[Cluster]:
    """users, meetings, signaling (no APP_POSTGRES_DSN) and media processes, then the gateway, all on the
    registry of ``etcd`` (a prefix of this run's own).  Signaling processes find users and meetings (and
    with media nodes, those) in the registry.  ``service_env``: settings of one service's processes (e.g.
    {"meetings": {"APP_USERS_GRPC_TARGET": ""}}: meetings checks tokens itself)."""
    run = f"d{uuid.uuid4().hex[:8]}"
    common = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40),
              "APP_SERVICE_SECRETS": secrets.token_urlsafe(40), "APP_REDIS_URL": redis_url,
              "APP_ETCD_URL": etcd.url, "APP_ETCD_PREFIX": f"/confero-test/{run}/", "APP_METRICS_PORT": "0",
              "APP_LOG_LEVEL": "INFO", "APP_DRAIN_SECONDS": "0.5", "APP_REGISTRY_TTL": "5",
              "APP_GATEWAY_RATE_PER_USER": "0", "APP_GATEWAY_RATE_PER_ADDRESS": "0", **(extra or {})}
    remote = {"APP_USERS_GRPC_TARGET": "etcd", "APP_MEETINGS_GRPC_TARGET": "etcd"}
    members: dict[str, list[Member]] = {"users": [], "meetings": [], "signaling": [], "media": []}
    with contextlib.ExitStack() as stack:
        def start(service: str, n: int, env: dict[str, str], module: str, port_variable: str,
                  metrics: bool = False) -> None:
            instance = f"{run}-{service}-{n}"
            metrics_port = free_port() if metrics else 0
            full = common | env | (service_env or {}).get(service, {}) | {"APP_INSTANCE_ID": instance,
                                                                       "APP_METRICS_PORT": str(metrics_port)}
            base, proc = stack.enter_context(process(full, tmp_path / f"{instance}.log", timeout=SETTLE,
                                                     module=module, port_variable=port_variable))
            grpc = next((f"127.0.0.1:{v}" for k, v in env.items() if k.endswith("_GRPC_PORT")), None)
            members[service].append(Member(instance, base, proc,
                                           f"http://127.0.0.1:{metrics_port}" if metrics else None, grpc))

        for n in range(users):
            start("users", n, {"APP_POSTGRES_DSN": dsn, "APP_USERS_GRPC_PORT": str(free_port())},
                  "runners.users", "APP_USERS_PORT")
        for n in range(meetings):
            start("meetings", n, {"APP_POSTGRES_DSN": dsn, "APP_MEETINGS_GRPC_PORT": str(free_port()),
                                  "APP_USERS_GRPC_TARGET": "etcd"}, "runners.meetings", "APP_MEETINGS_PORT")
        for n in range(media):  # a media node keeps no data: memory adapters, its signals on the Redis bus
            start("media", n, {"APP_ADAPTERS": "memory", "APP_MEDIA_GRPC_PORT": str(free_port()),
                               "APP_MEDIA_LOAD_INTERVAL": "0.5", **(media_extra or {})},
                  "runners.media", "APP_MEDIA_PORT")
        placement = {"APP_MEDIA_NODES": "etcd"} if media else {}
        for n in range(signaling):
            start("signaling", n, remote | placement, "runners.signaling", "APP_SIGNALING_PORT", metrics=True)
        gateway, gateway_proc = stack.enter_context(process(
            # It keeps no data (memory adapters); its rate limits are in Redis.
            common | {"APP_INSTANCE_ID": f"{run}-gateway", "APP_ADAPTERS": "memory"},
            tmp_path / f"{run}-gateway.log", timeout=SETTLE,
            module="runners.gateway", port_variable="APP_GATEWAY_PORT"))
        yield Cluster(gateway, gateway_proc, etcd, common, members)
