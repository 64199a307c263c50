"""Delivery: takes jobs from the queue and sends each at most once, with retries and dead letters."""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import Counter
from collections.abc import Mapping

from attrs import define, field

from domain.notifications.errors import DeliveryRejected, RecipientGone
from domain.notifications.jobs import RetryPolicy
from domain.notifications.model import Channel
from ports.clock import Clock
from ports.notifications import ChannelSender, DeliveryLimiter, JobQueue, Lease, SentLog

log = logging.getLogger(__name__)


@define(kw_only=True)
class Dispatcher:
    """Rules, per job:
    - a key marked sent is done without sending (a redelivered or re-enqueued job never sends twice);
      a key another worker holds right now is retried shortly;
    - over the rate limit for its recipient and channel, the job waits (no attempt is counted);
    - a transient failure retries with exponential backoff and jitter; after ``retry.max_attempts``
      attempts, or at once for a permanent refusal, it goes to the dead letters;
    - a recipient that is gone (a push subscription) ends the job: nothing to send to.
    One poison job never holds up the others: every job is settled on its own."""

    queue: JobQueue
    sent: SentLog
    limiter: DeliveryLimiter
    senders: Mapping[Channel, ChannelSender]
    clock: Clock
    retry: RetryPolicy = RetryPolicy()
    rng: random.Random = field(factory=random.Random)
    claim_ttl: dt.timedelta = dt.timedelta(seconds=120)
    busy_retry: dt.timedelta = dt.timedelta(seconds=5)
    outcomes: Counter[str] = field(factory=Counter)
    # origin -> delivered time of every delivery, for the benchmark's delays (None: not kept).
    delays: list[float] | None = None

    async def run_once(self, worker: str, limit: int = 50, wait: float = 1.0) -> int:
        leases = await self.queue.take(worker, limit, wait)
        for lease in leases:
            await self.settle(lease)
        return len(leases)

    async def settle(self, lease: Lease) -> None:
        job = lease.job
        sender = self.senders.get(job.channel)
        if sender is None:
            await self._dead(lease, f"no sender for channel {job.channel.value}")
            return
        # Claim first: one round trip on the common path; "sent" is asked only when the claim fails.
        if not await self.sent.claim(job.key, self.claim_ttl):
            if await self.sent.sent(job.key):
                self.outcomes["duplicate"] += 1
                await self.queue.done(lease)
            else:
                self.outcomes["busy"] += 1
                await self.queue.retry(lease, job, self.clock.now() + self.busy_retry)
            return
        now = self.clock.now()
        wait = await self.limiter.acquire(job.user_id or job.address or "", job.channel, now)
        if wait is not None:
            await self.sent.release(job.key)
            self.outcomes["rate_limited"] += 1
            await self.queue.retry(lease, job, now + wait)
            return
        try:
            await sender.send(job)
        except RecipientGone as exc:
            await self.sent.release(job.key)
            self.outcomes["gone"] += 1
            log.info("recipient gone; job dropped", extra={"key": job.key, "error": str(exc)})
            await self.queue.done(lease)
            return
        except DeliveryRejected as exc:
            await self.sent.release(job.key)
            await self._dead(lease, f"rejected: {exc}")
            return
        except Exception as exc:  # transient (DeliveryFailed, Unavailable) or a bug: both retry, bounded
            await self.sent.release(job.key)
            again = job.again()
            if self.retry.exhausted(again.attempts):
                await self._dead(lease, f"{type(exc).__name__}: {exc} (after {again.attempts} attempts)")
                return
            self.outcomes["retried"] += 1
            log.warning("delivery failed; will retry", extra={"key": job.key, "attempts": again.attempts,
                                                              "error": f"{type(exc).__name__}: {exc}"})
            await self.queue.retry(lease, again, self.clock.now() + self.retry.delay(again.attempts, self.rng))
            return
        await self.sent.mark_sent(job.key)
        await self.queue.done(lease)
        self.outcomes["sent"] += 1
        if self.delays is not None:
            self.delays.append((self.clock.now() - job.origin).total_seconds())

    async def _dead(self, lease: Lease, error: str) -> None:
        self.outcomes["dead"] += 1
        log.error("delivery dead-lettered", extra={"key": lease.job.key, "error": error})
        await self.queue.dead(lease, error[:1000])
