"""A UDP relay that impairs one client's path (this kernel has no netem): seeded random loss, a fixed
delay plus jitter, and counts of what it relayed, dropped and delayed, per direction.

The relay has two sockets on ``host``: ``client_side`` (the client sends there, and hears the server
from there) and ``server_side`` (the server hears the client from there, and answers there).  Packets
from the client go to ``upstream`` (the server's address, set when it is known); packets from
``upstream`` go to the client's latest address.  Anything else arriving at ``server_side`` is dropped
and counted as ``stray``.

For WebRTC: ``rewrite_candidates`` puts the relay's address into every ``a=candidate`` line of an SDP
and returns the addresses it replaced. A client that gets the server's SDP rewritten to
``client_side`` while the server gets the client's rewritten to ``server_side`` knows no address of
the other: every ICE check, DTLS record, RTP and RTCP packet between them crosses the relay.

Impairments may change while running (``loss``, ``delay``, ``jitter`` are plain attributes).  With
``keep_order`` (default) a packet never overtakes the one before it in its direction (jitter then
bunches packets as a queue would); without it, jitter reorders.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import socket
from typing import Any

from attrs import define, field

Address = tuple[str, int]
UP, DOWN = "up", "down"  # client -> server, server -> client
RECEIVE_BUFFER = 1 << 20


@define
class Counts:
    received: int = 0
    relayed: int = 0
    dropped: int = 0
    delayed: int = 0  # relayed after a delay > 0
    delay_total: float = 0.0  # seconds added, summed over the delayed packets
    bytes_relayed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"received": self.received, "relayed": self.relayed, "dropped": self.dropped,
                "delayed": self.delayed, "bytes_relayed": self.bytes_relayed,
                "mean_delay_ms": round(1000 * self.delay_total / self.delayed, 1) if self.delayed else 0.0}


class _Side(asyncio.DatagramProtocol):
    def __init__(self, relay: UdpRelay, direction: str) -> None:
        self.relay, self.direction = relay, direction
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        with contextlib.suppress(OSError):  # room for a late event loop (the kernel caps it at rmem_max)
            transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.relay._arrived(self.direction, data, addr)


@define
class UdpRelay:
    loss: float = 0.0  # fraction of packets dropped, each direction
    delay: float = 0.0  # seconds added to every relayed packet
    jitter: float = 0.0  # up to this many seconds more, uniformly drawn per packet
    seed: int = 16
    keep_order: bool = True
    host: str = "127.0.0.1"
    upstream: Address | None = None
    client: Address | None = None  # the client's latest address
    counts: dict[str, Counts] = field(factory=lambda: {UP: Counts(), DOWN: Counts()})
    stray: int = 0
    _random: random.Random = field(init=False)
    _last: dict[str, float] = field(factory=lambda: {UP: 0.0, DOWN: 0.0}, init=False)
    _client_side: Any = field(default=None, init=False)
    _server_side: Any = field(default=None, init=False)
    _pending: set[asyncio.TimerHandle] = field(factory=set, init=False)

    def __attrs_post_init__(self) -> None:
        self._random = random.Random(self.seed)

    async def start(self) -> UdpRelay:
        loop = asyncio.get_running_loop()
        _, self._client_side = await loop.create_datagram_endpoint(lambda: _Side(self, UP), local_addr=(self.host, 0))
        _, self._server_side = await loop.create_datagram_endpoint(lambda: _Side(self, DOWN), local_addr=(self.host, 0))
        return self

    @property
    def client_side(self) -> Address:
        return self._client_side.transport.get_extra_info("sockname")[:2]  # type: ignore[no-any-return]

    @property
    def server_side(self) -> Address:
        return self._server_side.transport.get_extra_info("sockname")[:2]  # type: ignore[no-any-return]

    def report(self) -> dict[str, Any]:
        return {UP: self.counts[UP].as_dict(), DOWN: self.counts[DOWN].as_dict(), "stray": self.stray,
                "loss": self.loss, "delay_ms": self.delay * 1000, "jitter_ms": self.jitter * 1000}

    def close(self) -> None:
        for handle in self._pending:
            handle.cancel()
        self._pending.clear()
        for side in (self._client_side, self._server_side):
            if side is not None and side.transport is not None:
                side.transport.close()

    def _arrived(self, direction: str, data: bytes, addr: Address) -> None:
        if direction == UP:
            self.client = addr
            to, out = self.upstream, self._server_side
        else:
            if addr != self.upstream:
                self.stray += 1
                return
            to, out = self.client, self._client_side
        counts = self.counts[direction]
        counts.received += 1
        if to is None:
            counts.dropped += 1  # nowhere to go yet
            return
        if self.loss and self._random.random() < self.loss:
            counts.dropped += 1
            return
        added = self.delay + (self._random.uniform(0.0, self.jitter) if self.jitter else 0.0)
        if added <= 0:
            self._send(out, data, to, counts, 0.0)
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + added
        if self.keep_order:
            due = max(due, self._last[direction])
            self._last[direction] = due
        handle: asyncio.TimerHandle | None = None

        def send() -> None:
            self._pending.discard(handle)  # type: ignore[arg-type]
            self._send(out, data, to, counts, added)

        handle = loop.call_at(due, send)
        self._pending.add(handle)

    @staticmethod
    def _send(out: _Side, data: bytes, to: Address, counts: Counts, added: float) -> None:
        if out.transport is None or out.transport.is_closing():
            return
        out.transport.sendto(data, to)
        counts.relayed += 1
        counts.bytes_relayed += len(data)
        if added > 0:
            counts.delayed += 1
            counts.delay_total += added


_CANDIDATE = re.compile(r"^(a=candidate:\S+ \d+ udp \d+ )(\S+) (\d+)( typ .*)$", re.IGNORECASE | re.MULTILINE)


def rewrite_candidates(sdp: str, address: Address) -> tuple[str, list[Address]]:
    """``sdp`` with every UDP candidate's address replaced by ``address`` (TCP candidates are left out:
    aiortc offers none), and the distinct addresses replaced, in order."""
    replaced: list[Address] = []

    def swap(match: re.Match[str]) -> str:
        original = (match.group(2), int(match.group(3)))
        if original not in replaced:
            replaced.append(original)
        return f"{match.group(1)}{address[0]} {address[1]}{match.group(4)}"

    return _CANDIDATE.sub(swap, sdp), replaced
