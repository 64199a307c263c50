"""Notification delivery benchmark: jobs per second through the queue to a local SMTP server, and the
delay from a domain event to the email being accepted (p50/p99), with an in-run baseline.

Baselines: the same number of emails sent straight to the same SMTP server (aiosmtplib, a connection
per message, same concurrency), and through the SMTP channel adapter alone (kept connections): what
the server and client allow at all, and what the channel allows without any queue.  Then the same emails as jobs through
the memory queue and the Redis stream queue (dispatcher, idempotency log, rate limit on), and
finally invitations as domain events through the notification service (policy, preferences,
templates, in-app store) into the Redis queue and out to SMTP.

    python bench/notifications.py [--jobs 2000] [--workers 8]

Needs TEST_REDIS_URL (a private key prefix is used and deleted).  Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import secrets
import sys
import time
from pathlib import Path

import aiosmtplib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from adapters.channels.mime import build_email  # noqa: E402
from adapters.channels.smtp import SmtpEmailSender  # noqa: E402
from adapters.inprocess.notification_directory import RepositoryDirectory  # noqa: E402
from adapters.memory.job_queue import InMemoryJobQueue  # noqa: E402
from adapters.memory.meetings import InMemoryMeetingRepository  # noqa: E402
from adapters.memory.notifications import (InMemoryDeliveryLimiter, InMemoryLiveNotifications,  # noqa: E402
                                           InMemoryNotificationHistory, InMemoryPreferenceStore,
                                           InMemoryPushSubscriptions, InMemoryReminderStore, InMemorySentLog)
from adapters.memory.users import InMemoryUserRepository  # noqa: E402
from adapters.redis.client import open_redis  # noqa: E402
from adapters.redis.job_queue import RedisJobQueue  # noqa: E402
from adapters.redis.notifications import RedisDeliveryLimiter, RedisSentLog  # noqa: E402
from adapters.system.clock import SystemClock  # noqa: E402
from confero_contracts.factories import a_meeting, a_user  # noqa: E402
from confero_contracts.notifications import a_job  # noqa: E402
from domain.meetings.events import UserInvited  # noqa: E402
from domain.notifications.dispatch import Dispatcher  # noqa: E402
from domain.notifications.model import Channel, Kind  # noqa: E402
from domain.notifications.service import Links, NotificationService  # noqa: E402
from runners.workers.notifications import TAKE  # noqa: E402
from tests.support.notify_servers import SmtpServer  # noqa: E402

EMAIL_ONLY = {k: frozenset({Channel.EMAIL, Channel.IN_APP}) for k in Kind}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


async def baseline(port: int, n: int, workers: int) -> float:
    jobs = [a_job(address=f"u{i}@example.com") for i in range(n)]
    todo = iter(jobs)

    async def worker() -> None:
        for job in todo:
            await aiosmtplib.send(build_email(job, "bench@confero.test", "confero.test"), hostname="127.0.0.1",
                                  port=port)

    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return n / (time.perf_counter() - t)


async def baseline_reused(port: int, n: int, workers: int) -> float:
    sender = SmtpEmailSender("127.0.0.1", port, sender="bench@confero.test", domain="confero.test", start_tls=False)
    todo = iter([a_job(address=f"u{i}@example.com") for i in range(n)])

    async def worker() -> None:
        for job in todo:
            await sender.send(job)

    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    rate = n / (time.perf_counter() - t)
    await sender.aclose()
    return rate


async def drain(dispatcher: Dispatcher, n: int, workers: int) -> float:
    t = time.perf_counter()

    async def worker(i: int) -> None:
        while dispatcher.outcomes["sent"] < n:
            await dispatcher.run_once(f"bench-{i}", TAKE, 0.2)

    await asyncio.gather(*(worker(i) for i in range(workers)))
    return time.perf_counter() - t


def dispatcher_for(queue, sent, limiter, port: int) -> Dispatcher:  # type: ignore[no-untyped-def]
    sender = SmtpEmailSender("127.0.0.1", port, sender="bench@confero.test", domain="confero.test", start_tls=False)
    return Dispatcher(queue=queue, sent=sent, limiter=limiter, senders={Channel.EMAIL: sender}, clock=SystemClock(),
                      rng=random.Random(1), delays=[])


async def through_queue(name: str, queue, sent, limiter, port: int, n: int, workers: int) -> None:  # type: ignore[no-untyped-def]
    d = dispatcher_for(queue, sent, limiter, port)
    now = dt.datetime.now(dt.timezone.utc)
    await queue.put(*(a_job(address=f"u{i}@example.com", origin=now) for i in range(n)))
    seconds = await drain(d, n, workers)
    print(f"{name:<34} {n / seconds:8.0f} jobs/s   (all queued at once; p50 wait {pct(d.delays, 50):.2f} s)")


async def events(queue, sent, limiter, port: int, n: int, workers: int, rate: float) -> None:  # type: ignore[no-untyped-def]
    users, meetings = InMemoryUserRepository(), InMemoryMeetingRepository()
    host = a_user()
    await users.add(host)
    meeting = a_meeting(host_id=host.id, start_time=dt.datetime(2035, 1, 1, tzinfo=dt.timezone.utc))
    guests = []
    for _ in range(n):
        g = a_user()
        await users.add(g)
        guests.append(g)
    meeting.invited_users = {g.id for g in guests}
    await meetings.add(meeting)
    prefs = InMemoryPreferenceStore()
    for g in guests:
        await prefs.put((await prefs.get(g.id)).changed(channels=dict(EMAIL_ONLY)))
    service = NotificationService(history=InMemoryNotificationHistory(), preferences=prefs,
                                  reminders=InMemoryReminderStore(), queue=queue, live=InMemoryLiveNotifications(),
                                  directory=RepositoryDirectory(users, meetings),
                                  subscriptions=InMemoryPushSubscriptions(), clock=SystemClock(),
                                  links=Links(base_url="http://127.0.0.1", unsubscribe_secret=b"bench"))
    d = dispatcher_for(queue, sent, limiter, port)
    workers_task = asyncio.create_task(drain(d, n, workers))
    t = time.perf_counter()
    for i, g in enumerate(guests):
        # Paced: the delay measured is the pipeline's, not a backlog's.
        await asyncio.sleep(max(0.0, t + i / rate - time.perf_counter()))
        await service.on_event(UserInvited(occurred_at=dt.datetime.now(dt.timezone.utc), meeting_id=meeting.id,
                                           by=host.id, user_id=g.id))
    await workers_task
    ms = [x * 1000 for x in d.delays]
    print(f"{'event -> SMTP accepted (Redis)':<34} {rate:8.0f} events/s offered   "
          f"delay p50 {pct(ms, 50):.1f} ms  p99 {pct(ms, 99):.1f} ms  ({len(ms)} emails)")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--rate", type=float, default=20.0, help="events per second offered in the delay run")
    args = ap.parse_args()
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        sys.exit("TEST_REDIS_URL is required (eval \"$(scripts/servers.sh)\")")
    smtp = SmtpServer().start()
    try:
        print(f"{args.jobs} emails, {args.workers} concurrent senders, local aiosmtpd\n")
        base = await baseline(smtp.port, args.jobs, args.workers)
        print(f"{'baseline: aiosmtplib, a connection each':<34} {base:8.0f} msgs/s")
        reused = await baseline_reused(smtp.port, args.jobs, args.workers)
        print(f"{'baseline: the SMTP sender (kept conns)':<34} {reused:8.0f} msgs/s   (no queue: the channel alone)")
        limiter = InMemoryDeliveryLimiter(10**9, dt.timedelta(hours=1))
        await through_queue("memory queue -> SMTP", InMemoryJobQueue(), InMemorySentLog(), limiter, smtp.port,
                            args.jobs, args.workers)
        prefix = f"bench:{secrets.token_hex(4)}:"
        async with open_redis(redis_url, max_connections=100) as redis:
            try:
                rlimiter = RedisDeliveryLimiter(redis, 10**9, dt.timedelta(hours=1), prefix=prefix)
                await through_queue("redis stream queue -> SMTP", RedisJobQueue(redis, prefix=prefix),
                                    RedisSentLog(redis, prefix=prefix), rlimiter, smtp.port, args.jobs, args.workers)
                n = min(args.jobs, 1000)
                await events(RedisJobQueue(redis, prefix=prefix + "ev:"), RedisSentLog(redis, prefix=prefix), rlimiter,
                             smtp.port, n, args.workers, args.rate)
            finally:
                keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
                if keys:
                    await redis.delete(*keys)
    finally:
        smtp.stop()


if __name__ == "__main__":
    asyncio.run(main())
