"""Registrations cannot make argon2 a free denial of service: logins do not queue behind them, the
hashing queue is bounded, and each address has a registration budget.  Real argon2 cost."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from adapters.crypto.argon2 import Argon2PasswordHasher
from adapters.memory.users import InMemoryUserRepository
from adapters.system.clock import SystemClock
from domain.users import commands as uc
from domain.users.errors import PasswordHashingBusy, TooManyRegistrations
from domain.users.service import UserService
from domain.users.throttling import AttemptLimits
from tests.unit.conftest import GOOD_PASSWORD, build_user_service

REGISTRATIONS = 40


def sign_up(n: int, address: str | None = None) -> uc.RegisterUser:
    return uc.RegisterUser(username=f"user{n}", email=f"user{n}@example.com", password=GOOD_PASSWORD,
                           client_address=address or f"10.1.{n // 250}.{n % 250}")


def a_service(hasher, domain_bus, limits: AttemptLimits | None = None) -> UserService:
    service = build_user_service(users=InMemoryUserRepository(), clock=SystemClock(), bus=domain_bus, hasher=hasher)
    if limits is not None:
        service.limits = limits
    return service


def record_admissions(hasher: Argon2PasswordHasher) -> list[str]:
    """Wraps the hasher's gate so the order in which work is let in to the workers is recorded."""
    admitted: list[str] = []
    enter = hasher.gate.enter

    @contextlib.asynccontextmanager
    async def recording(*, urgent: bool):  # type: ignore[no-untyped-def]
        async with enter(urgent=urgent):
            admitted.append("verify" if urgent else "hash")
            yield

    hasher.gate.enter = recording  # type: ignore[method-assign]
    return admitted


async def timed_login(service: UserService, name: str) -> float:
    started = time.monotonic()
    await service.login(uc.LogIn(login=name, password=GOOD_PASSWORD))
    return time.monotonic() - started


async def test_a_login_is_let_in_before_every_registration_queued_when_it_arrived(domain_bus):
    hasher = Argon2PasswordHasher(concurrency=2, queue=REGISTRATIONS)
    service = a_service(hasher, domain_bus)
    await service.register(sign_up(999, "192.0.2.1"))
    alone = await timed_login(service, "user999")
    admitted = record_admissions(hasher)

    registering = [asyncio.create_task(service.register(sign_up(n))) for n in range(REGISTRATIONS)]
    while hasher.gate.waiting(urgent=False) < REGISTRATIONS - 2:
        await asyncio.sleep(0.01)
    before = len(admitted)
    queued = hasher.gate.waiting(urgent=False)
    under_load = await timed_login(service, "user999")
    waited = admitted.index("verify") - before
    print(f"\nlogin alone {alone:.3f} s; with {REGISTRATIONS} registrations in flight ({queued} queued) "
          f"{under_load:.3f} s; hashes let in between its arrival and its own admission: {waited}")
    assert waited == 0
    assert admitted.count("hash") < REGISTRATIONS  # the registrations were indeed still queued
    await asyncio.gather(*registering)


async def test_registrations_beyond_the_hashing_queue_are_refused_at_once_with_a_retry_after(domain_bus):
    hasher = Argon2PasswordHasher(concurrency=2, queue=5)
    service = a_service(hasher, domain_bus)
    results = await asyncio.gather(*(service.register(sign_up(n)) for n in range(30)), return_exceptions=True)
    busy = [r for r in results if isinstance(r, PasswordHashingBusy)]
    made = [r for r in results if not isinstance(r, BaseException)]
    assert len(made) + len(busy) == 30
    assert len(made) <= 1 + 5  # one running (a worker stays kept for logins) and five queued
    assert all(err.details["retry_after"] >= 1 for err in busy)


async def test_one_address_registers_at_most_its_budget_per_window(domain_bus, domain_hasher):
    service = a_service(domain_hasher, domain_bus, AttemptLimits(registrations_per_address=3))
    for n in range(3):
        await service.register(sign_up(n, "203.0.113.9"))
    with pytest.raises(TooManyRegistrations) as caught:
        await service.register(sign_up(3, "203.0.113.9"))
    assert 0 < caught.value.details["retry_after"] <= 3600
    await service.register(sign_up(4, "198.51.100.1"))


async def test_parallel_registrations_from_one_address_cannot_outrun_its_budget(domain_bus, domain_hasher):
    service = a_service(domain_hasher, domain_bus, AttemptLimits(registrations_per_address=3))
    results = await asyncio.gather(*(service.register(sign_up(n, "203.0.113.9")) for n in range(20)),
                                   return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 3
    assert sum(isinstance(r, TooManyRegistrations) for r in results) == 17
