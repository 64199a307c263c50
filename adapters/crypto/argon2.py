from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from adapters.crypto.priority_gate import GateFull, PriorityGate
from domain.users.errors import PasswordHashingBusy

T = TypeVar("T")


class Argon2PasswordHasher:
    """argon2id via argon2-cffi, in worker threads of its own so a ~50 ms hash never blocks the event loop.

    The work is bounded: at most ``concurrency`` (default: the CPU count) hashes run at once.  Checking
    a password (``verify``: logins, meeting passwords) may use every worker and goes before any queued
    ``hash`` (sign-ups, password changes), which may use all workers but one: a flood of registrations
    cannot make a login wait behind it.  Each kind queues at most ``queue`` calls; beyond that a call
    raises PasswordHashingBusy (429 with Retry-After) instead of queueing without end.
    ``fast()`` gives deliberately cheap parameters for tests and benchmarks of other things.
    """

    def __init__(self, time_cost: int = 3, memory_cost_kib: int = 65536, parallelism: int = 4, *,
                 concurrency: int | None = None, queue: int = 64) -> None:
        self._argon2 = _Argon2(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism)
        workers = concurrency or os.cpu_count() or 2
        self.gate = PriorityGate(workers, reserved=1, queue=queue)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")

    @classmethod
    def fast(cls, *, concurrency: int | None = None, queue: int = 64) -> Argon2PasswordHasher:
        return cls(time_cost=1, memory_cost_kib=1024, parallelism=1, concurrency=concurrency, queue=queue)

    async def hash(self, password: str) -> str:
        return await self._run(False, self._argon2.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._run(True, self._verify, password_hash, password)

    async def _run(self, urgent: bool, fn: Callable[..., T], *args: str) -> T:
        try:
            async with self.gate.enter(urgent=urgent):
                return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        except GateFull as full:
            raise PasswordHashingBusy("the server is busy checking passwords; retry shortly",
                                      retry_after=full.retry_after) from None

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
