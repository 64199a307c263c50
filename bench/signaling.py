"""Signaling benchmark: chat fan-out through the all-in-one against a bare aiohttp broadcast server.

N clients in M rooms (client i is in room i % M).  Every client joins its room, then for a fixed
duration sends chat messages at a fixed rate carrying its send time; every OTHER member of the
room records receive time - send time.  The same clients, rooms and rates then run against
bench/ws_baseline.py (a bare aiohttp WebSocket broadcast server: no auth, no validation) in the
same run, and both are printed with their ratio, with each server's CPU time per delivered message
(read from /proc over the sending window): on a shared, noisy machine latency percentiles swing with
the neighbours' load, the CPU cost much less.

The all-in-one runs as a subprocess on the embedded memory adapters, with fast password hashing
and a rate limit high enough not to throttle.  One client process holds every connection; only
127.0.0.1 is contacted.  ``make bench-signaling`` runs it with the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.process import free_port, process  # noqa: E402

PASSWORD = "bench password 1"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (Linux /proc): a load-independent cost measure."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def raise_nofile(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < want:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        print(f"warning: open-files limit {soft} < {needed}; connections may fail", file=sys.stderr)
    return soft


async def bounded(concurrency: int, jobs: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(run(j) for j in jobs))


class Stats:
    """What the receivers saw of the messages sent inside the measurement window."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.sent = 0
        self.expected = 0  # sends x (room size - 1)
        self.window: tuple[float, float] = (float("inf"), float("inf"))
        self.errors: Counter[str] = Counter()

    def received(self, sent_at: float, sender: int, me: int) -> None:
        if sender == me:
            return
        if self.window[0] <= sent_at < self.window[1]:
            self.latencies.append(time.perf_counter() - sent_at)


class Client:
    """One socket; ``on_text`` parses each frame; ``pending`` resolves replies by request id."""

    def __init__(self, index: int, room: int, ws: aiohttp.ClientWebSocketResponse,
                 on_text: Callable[[Client, str], None]) -> None:
        self.index, self.room, self.ws = index, room, ws
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._on_text = on_text
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self._on_text(self, msg.data)


# -- the two targets -----------------------------------------------------------------------------

class Target:
    name = ""

    async def connect(self, s: aiohttp.ClientSession, i: int, room: int, stats: Stats) -> Client: ...
    async def join(self, c: Client) -> None: ...
    def frame(self, c: Client, text: str) -> str: ...


class Baseline(Target):
    name = "bare aiohttp broadcast (baseline)"

    def __init__(self, base: str) -> None:
        self.base = base

    async def connect(self, s: aiohttp.ClientSession, i: int, room: int, stats: Stats) -> Client:
        def on_text(c: Client, data: str) -> None:
            text = json.loads(data)["text"]
            sent_at, _, sender = text.partition(" ")
            stats.received(float(sent_at), int(sender), c.index)

        ws = await s.ws_connect(f"{self.base}/ws?room={room}", max_msg_size=0)
        return Client(i, room, ws, on_text)

    async def join(self, c: Client) -> None:
        return None

    def frame(self, c: Client, text: str) -> str:
        return json.dumps({"room": c.room, "text": text})


class Signaling(Target):
    name = "signaling chat (all-in-one, memory)"

    def __init__(self, base: str, tokens: list[str], rooms: list[str]) -> None:
        self.base, self.tokens, self.rooms = base, tokens, rooms
        self._ids = itertools.count(1)

    async def connect(self, s: aiohttp.ClientSession, i: int, room: int, stats: Stats) -> Client:
        def on_text(c: Client, data: str) -> None:
            frame = json.loads(data)
            kind = frame["type"]
            if kind == "chat":
                sent_at, _, sender = frame["data"]["text"].partition(" ")
                stats.received(float(sent_at), int(sender), c.index)
                return
            if kind == "error":
                stats.errors[frame["data"]["code"]] += 1
            future = c.pending.pop(frame.get("re", ""), None)
            if future is not None and not future.done():
                future.set_result(frame)

        ws = await s.ws_connect(self.base.replace("http", "ws", 1) + "/ws/signaling", max_msg_size=0,
                                headers={"Authorization": f"Bearer {self.tokens[i]}"})
        first = await ws.receive_json(timeout=30)
        if first.get("type") != "welcome":
            raise RuntimeError(f"expected welcome, got {first}")
        return Client(i, room, ws, on_text)

    async def join(self, c: Client) -> None:
        rid = f"j{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        c.pending[rid] = future
        await c.ws.send_str(json.dumps({"v": 1, "type": "join_room", "id": rid,
                                        "data": {"room_id": self.rooms[c.room]}}))
        reply = await asyncio.wait_for(future, 30)
        if reply["type"] != "room_state":
            raise RuntimeError(f"join failed: {reply}")

    def frame(self, c: Client, text: str) -> str:
        # No request id: the ack still comes (with no "re") and is ignored.
        return json.dumps({"v": 1, "type": "chat", "data": {"room_id": self.rooms[c.room], "text": text}})


async def measure(target: Target, args: argparse.Namespace, pid: int) -> dict[str, Any]:
    stats = Stats()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, connect=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as s:
        t = time.perf_counter()
        clients: list[Client] = await bounded(args.concurrency, [
            (lambda i=i: target.connect(s, i, i % args.rooms, stats)) for i in range(args.clients)])
        connected = time.perf_counter() - t
        t = time.perf_counter()
        await bounded(args.concurrency, [(lambda c=c: target.join(c)) for c in clients])
        joined = time.perf_counter() - t
        await asyncio.sleep(0.5)  # let member_joined fan-out settle

        period = 1.0 / args.rate
        start = time.perf_counter() + 0.2
        stats.window = (start + args.warmup, start + args.warmup + args.seconds)
        stop_at = stats.window[1]
        sizes = Counter(c.room for c in clients)

        async def sender(c: Client) -> None:
            nxt = start + random.random() * period  # spread the clients over one period
            while True:
                delay = nxt - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                now = time.perf_counter()
                if now >= stop_at:
                    return
                await c.ws.send_str(target.frame(c, f"{now!r} {c.index}"))
                if stats.window[0] <= now:
                    stats.sent += 1
                    stats.expected += sizes[c.room] - 1
                nxt += period

        cpu_before = cpu_seconds(pid)
        await asyncio.gather(*(sender(c) for c in clients))
        await asyncio.sleep(args.drain)  # what has not arrived by now counts as lost
        cpu = cpu_seconds(pid) - cpu_before
        for c in clients:
            c.reader.cancel()
        await bounded(args.concurrency, [(lambda c=c: c.ws.close()) for c in clients])
    lat = sorted(stats.latencies)
    return {"name": target.name, "connect_s": connected, "join_s": joined, "sent": stats.sent,
            "delivered": len(lat), "expected": stats.expected, "per_s": len(lat) / args.seconds,
            "p50": pct(lat, 50) * 1000, "p99": pct(lat, 99) * 1000, "max": (lat[-1] * 1000 if lat else float("nan")),
            "errors": dict(stats.errors), "cpu_s": cpu}


# -- setup ---------------------------------------------------------------------------------------

@contextlib.contextmanager
def baseline_server(log_path: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "ws_baseline.py"), str(port)],
                                stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"ws_baseline exited with {proc.returncode}; see {log_path}")
                try:
                    with urllib.request.urlopen(base + "/health", timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("ws_baseline did not start") from None
                    time.sleep(0.1)
            yield base, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def prepare(base: str, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Registers and logs in N users, then has the first member of each room create its meeting."""
    run = secrets.token_hex(3)
    async with aiohttp.ClientSession(base_url=base, connector=aiohttp.TCPConnector(limit=args.concurrency)) as s:
        async def user(i: int) -> str:
            name = f"b{run}u{i}"
            async with s.post("/api/v1/auth/register",
                              json={"username": name, "email": f"{name}@example.com", "password": PASSWORD}) as r:
                if r.status != 201:
                    raise RuntimeError(f"register: {r.status} {await r.text()}")
            async with s.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD}) as r:
                if r.status != 200:
                    raise RuntimeError(f"login: {r.status} {await r.text()}")
                return str((await r.json())["access_token"])

        tokens = await bounded(args.concurrency, [(lambda i=i: user(i)) for i in range(args.clients)])
        size = -(-args.clients // args.rooms)

        async def meeting(room: int) -> str:
            async with s.post("/api/v1/meetings", headers={"Authorization": f"Bearer {tokens[room]}"},
                              json={"title": f"bench room {room}", "capacity": max(2, min(1000, size + 1))}) as r:
                if r.status != 201:
                    raise RuntimeError(f"create meeting: {r.status} {await r.text()}")
                return str((await r.json())["id"])

        rooms = await bounded(args.concurrency, [(lambda r=r: meeting(r)) for r in range(args.rooms)])
    return tokens, rooms


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    log = Path(args.log)
    results = []
    with baseline_server(log) as (base, pid):
        results.append(await measure(Baseline(base), args, pid))
    env = {"APP_FAST_PASSWORD_HASHING": "true", "APP_LOG_LEVEL": "WARNING",
           "APP_WS_RATE": "10000", "APP_WS_BURST": "100000", "APP_ACCESS_TOKEN_TTL": "3600",
           # 1,000 sockets come from 127.0.0.1: the per-address connection and socket caps are for real
           # clients, not for this load generator.
           "APP_HTTP_MAX_CONNECTIONS_PER_ADDRESS": "0", "APP_WS_MAX_SOCKETS_PER_USER": "10000"}
    with process(env, log, timeout=30) as (base, proc):
        t = time.perf_counter()
        tokens, rooms = await prepare(base, args)
        setup = time.perf_counter() - t
        results.append(await measure(Signaling(base, tokens, rooms), args, proc.pid))
        results[-1]["setup_s"] = setup
    return results


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    base = results[0]
    print(f"\n{args.clients} clients in {args.rooms} rooms, {args.rate:g} chat msg/s each, {args.seconds:g} s measured "
          f"(+{args.warmup:g} s warm-up); client and server on one {os.cpu_count()}-core machine")
    print(f"{'target':38} {'sent':>7} {'delivered':>9} {'deliv/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'lost':>6} {'µs CPU/deliv':>12}")
    for r in results:
        lost = r["expected"] - r["delivered"]
        per = r["cpu_s"] / max(1, r["delivered"]) * 1e6
        print(f"{r['name']:38} {r['sent']:7d} {r['delivered']:9d} {r['per_s']:8.0f} {r['p50']:8.2f} {r['p99']:8.2f} "
              f"{r['max']:8.1f} {lost:6d} {per:12.1f}")
    for r in results[1:]:
        print(f"{'ratio signaling / baseline':38} {'':7} {'':9} {r['per_s'] / base['per_s']:7.2f}x "
              f"{r['p50'] / base['p50']:7.2f}x {r['p99'] / base['p99']:7.2f}x {'':8} "
              f"{r['cpu_s'] / max(1e-9, base['cpu_s']):11.2f}x")
    print("(µs CPU/deliv: the server process's CPU time over the sending window, per delivered message;"
          " unlike latency, it hardly depends on what else the machine runs)")
    for r in results:
        extra = f", register+login+meetings {r['setup_s']:.1f} s" if "setup_s" in r else ""
        errors = f", errors {r['errors']}" if r["errors"] else ""
        print(f"  {r['name']}: connect {r['connect_s']:.1f} s, join {r['join_s']:.1f} s{extra}{errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--rate", type=float, default=1.0, help="chat messages per second per client")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured sending time")
    parser.add_argument("--warmup", type=float, default=2.0, help="sending time before measuring")
    parser.add_argument("--drain", type=float, default=3.0, help="wait for in-flight messages after sending")
    parser.add_argument("--concurrency", type=int, default=50, help="parallel HTTP requests / connects / joins")
    parser.add_argument("--log", default="/tmp/confero-bench-signaling.log")
    args = parser.parse_args()
    if args.clients < 2 or not 1 <= args.rooms <= args.clients // 2 or args.rate <= 0:
        parser.error("need at least 2 clients per room and a positive rate")
    raise_nofile(2 * args.clients + 256)
    report(asyncio.run(run(args)), args)


if __name__ == "__main__":
    main()
