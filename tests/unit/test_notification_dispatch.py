"""Delivery: retries with backoff, dead letters, idempotency, the rate limit."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

from confero_contracts.notifications import a_job
from domain.notifications.errors import DeliveryFailed, DeliveryRejected, RecipientGone
from domain.notifications.jobs import DeliveryJob, RetryPolicy
from tests.unit.notification_support import a_rig


async def test_a_transient_failure_is_retried_later_with_its_attempt_counted():
    rig = a_rig()
    rig.email.failures = [DeliveryFailed("421 try later")]
    await rig.queue.put(a_job())
    await rig.deliver_all()
    assert rig.email.sent == []
    rig.clock.advance(dt.timedelta(seconds=2))
    await rig.deliver_all()
    (sent,) = rig.email.sent
    assert sent.attempts == 1


async def test_after_the_last_attempt_the_job_is_dead_and_the_others_go_on():
    rig = a_rig(max_attempts=3)
    poison, fine = a_job(address="poison@example.com"), a_job(address="fine@example.com")
    rig.email.poison = {"poison@example.com"}
    await rig.queue.put(poison, fine)
    for _ in range(6):
        await rig.deliver_all()
        rig.clock.advance(dt.timedelta(minutes=1))
    assert [j.address for j in rig.email.sent] == ["fine@example.com"]
    ((dead, error),) = await rig.queue.dead_letters()
    assert dead.key == poison.key and "after 3 attempts" in error


async def test_a_permanent_refusal_is_dead_at_once():
    rig = a_rig()
    rig.email.failures = [DeliveryRejected("550 no such user")]
    await rig.queue.put(a_job())
    await rig.deliver_all()
    ((_, error),) = await rig.queue.dead_letters()
    assert error.startswith("rejected: 550")


async def test_a_gone_recipient_ends_the_job_without_a_dead_letter():
    rig = a_rig()
    rig.email.failures = [RecipientGone("410")]
    await rig.queue.put(a_job())
    await rig.deliver_all()
    assert await rig.queue.dead_letters() == [] and rig.queue.pending() == 0


async def test_a_job_enqueued_twice_or_delivered_to_two_workers_at_once_is_sent_once():
    rig = a_rig()
    job = a_job()
    await rig.queue.put(job, job, job)
    barrier = asyncio.Event()

    async def worker(name: str) -> None:
        await barrier.wait()
        await rig.dispatcher.run_once(name, 1, 0)

    tasks = [asyncio.create_task(worker(f"w{i}")) for i in range(3)]
    await asyncio.sleep(0)
    barrier.set()
    await asyncio.gather(*tasks)
    rig.clock.advance(dt.timedelta(minutes=1))
    await rig.deliver_all()
    assert len(rig.email.sent) == 1


async def test_over_the_rate_limit_jobs_wait_for_the_window_without_losing_an_attempt():
    rig = a_rig(limit=2)
    user = "00000000-0000-4000-8000-000000000001"
    await rig.queue.put(*(a_job(user_id=user) for _ in range(3)))
    await rig.deliver_all()
    assert len(rig.email.sent) == 2
    rig.clock.advance(dt.timedelta(hours=1))
    await rig.deliver_all()
    assert len(rig.email.sent) == 3 and rig.email.sent[2].attempts == 0


def test_backoff_doubles_with_jitter_and_is_capped():
    policy = RetryPolicy(base=dt.timedelta(seconds=2), cap=dt.timedelta(seconds=60))
    rng = random.Random(1)
    delays = [policy.delay(n, rng).total_seconds() for n in range(1, 10)]
    for n, d in enumerate(delays, start=1):
        full = min(60, 2 * 2 ** (n - 1))
        assert full / 2 <= d <= full


def test_a_job_survives_its_wire_form():
    job = a_job(unsubscribe_url="http://x/u", attempts=2)
    assert DeliveryJob.from_json(job.to_json()) == job
