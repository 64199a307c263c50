"""Contracts of the notification ports (ports/notifications.py), written once, run for every adapter."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from domain.notifications.errors import NotificationNotFound, PushSubscriptionNotFound
from domain.notifications.jobs import DeliveryJob
from domain.notifications.model import Channel, Kind, Notification, Preferences, QuietHours
from domain.notifications.reminders import Reminder
from domain.shared.ids import MeetingId, UserId, new_id
from domain.shared.pagination import PageRequest
from ports.notifications import PushSubscription

T0 = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)


def a_user() -> UserId:
    return UserId(new_id())


def a_notification(user: UserId, at: dt.datetime = T0, **kw: object) -> Notification:
    return Notification(id=new_id(), user_id=user, kind=kw.pop("kind", Kind.MEETING_INVITATION),  # type: ignore[arg-type]
                        title="t", body="b", link="/meetings/x", data={"meeting_id": "m"}, created_at=at, **kw)  # type: ignore[arg-type]


def a_job(key: str | None = None, **kw: object) -> DeliveryJob:
    fields: dict[str, object] = dict(key=key or new_id(), channel=Channel.EMAIL, kind=Kind.MEETING_INVITATION,
                                     user_id=new_id(), address="a@example.com", title="Hi", text="Hello",
                                     html="<p>Hello</p>", link="http://x/m", origin=T0)
    fields.update(kw)
    return DeliveryJob(**fields)  # type: ignore[arg-type]


class NotificationHistoryContract:
    @pytest.fixture
    async def history(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def test_added_notifications_come_back_equal_newest_first(self, history):
        user = a_user()
        older, newer = a_notification(user, T0), a_notification(user, T0 + SECOND)
        assert await history.add(older, newer) == [older, newer]
        page = await history.list(user, PageRequest(0, 10))
        assert page.items == (newer, older) and page.total == 2

    async def test_adding_an_id_again_stores_nothing(self, history):
        n = a_notification(a_user())
        await history.add(n)
        assert await history.add(n) == []
        assert (await history.list(n.user_id, PageRequest())).total == 1

    async def test_pages_and_unread_counts_are_per_user(self, history):
        user, other = a_user(), a_user()
        await history.add(*(a_notification(user, T0 + i * SECOND) for i in range(5)), a_notification(other))
        page = await history.list(user, PageRequest(offset=2, limit=2))
        assert page.total == 5 and len(page.items) == 2 and page.items[0].created_at == T0 + 2 * SECOND
        assert await history.unread(user) == 5 and await history.unread(other) == 1

    async def test_mark_read_sets_the_time_once(self, history):
        n = a_notification(a_user())
        await history.add(n)
        first = await history.mark_read(n.user_id, n.id, T0 + MINUTE)
        again = await history.mark_read(n.user_id, n.id, T0 + 2 * MINUTE)
        assert first.read_at == again.read_at == T0 + MINUTE
        assert await history.unread(n.user_id) == 0
        assert (await history.list(n.user_id, PageRequest(), unread_only=True)).total == 0

    async def test_nobody_marks_another_users_notification(self, history):
        n = a_notification(a_user())
        await history.add(n)
        with pytest.raises(NotificationNotFound):
            await history.mark_read(a_user(), n.id, T0)
        with pytest.raises(NotificationNotFound):
            await history.mark_read(n.user_id, new_id(), T0)

    async def test_mark_all_read_counts_what_changed(self, history):
        user = a_user()
        ns = [a_notification(user, T0 + i * SECOND) for i in range(3)]
        await history.add(*ns)
        await history.mark_read(user, ns[0].id, T0)
        assert await history.mark_all_read(user, T0 + MINUTE) == 2
        assert await history.mark_all_read(user, T0 + MINUTE) == 0


class PreferenceStoreContract:
    @pytest.fixture
    async def store(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def test_unknown_user_gets_the_defaults(self, store):
        user = a_user()
        assert await store.get(user) == Preferences(user_id=user)

    async def test_stored_preferences_come_back_equal(self, store):
        user = a_user()
        p = Preferences(user_id=user, channels={Kind.MEETING_REMINDER: frozenset({Channel.SMS, Channel.IN_APP})},
                        quiet_hours=QuietHours(dt.time(22, 0), dt.time(7, 30)), timezone="Europe/Paris",
                        locale="en", reminder_minutes=15, phone="+15551234567")
        await store.put(p)
        assert await store.get(user) == p
        other = a_user()
        assert await store.get_many([user, other]) == {user: p, other: Preferences(user_id=other)}

    async def test_put_replaces(self, store):
        user = a_user()
        await store.put(Preferences(user_id=user, reminder_minutes=5))
        await store.put(Preferences(user_id=user, reminder_minutes=30))
        assert (await store.get(user)).reminder_minutes == 30


def reminders_for(meeting: MeetingId, start: dt.datetime, *minutes: int) -> list[Reminder]:
    return [Reminder.of(meeting, UserId(f"00000000-0000-4000-8000-00000000000{i}"), start, m)
            for i, m in enumerate(minutes)]


class ReminderStoreContract:
    @pytest.fixture
    async def reminders(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def test_replace_stores_and_pending_lists_them_by_time(self, reminders):
        m = MeetingId(new_id())
        planned = reminders_for(m, T0, 5, 30)
        await reminders.replace(m, planned)
        await reminders.replace(m, planned)
        assert await reminders.pending(m) == sorted(planned, key=lambda r: r.fire_at)

    async def test_a_moved_meeting_moves_its_reminders(self, reminders):
        m = MeetingId(new_id())
        await reminders.replace(m, reminders_for(m, T0, 10))
        moved = reminders_for(m, T0 + dt.timedelta(hours=2), 10)
        await reminders.replace(m, moved)
        assert await reminders.pending(m) == moved

    async def test_cancel_drops_pending(self, reminders):
        m = MeetingId(new_id())
        await reminders.replace(m, reminders_for(m, T0, 10))
        await reminders.cancel(m)
        assert await reminders.pending(m) == []
        assert [r for r in await reminders.claim_due(T0 + dt.timedelta(days=1), 1000, MINUTE) if r.meeting_id == m] == []

    async def test_due_reminders_are_claimed_once_per_lease_and_fired_ones_never_again(self, reminders):
        m = MeetingId(new_id())
        (r,) = reminders_for(m, T0, 10)
        await reminders.replace(m, [r])
        assert r not in await reminders.claim_due(r.fire_at - SECOND, 1000, MINUTE)
        assert r in await reminders.claim_due(r.fire_at, 1000, MINUTE)
        assert r not in await reminders.claim_due(r.fire_at + SECOND, 1000, MINUTE)
        assert r in await reminders.claim_due(r.fire_at + 2 * MINUTE, 1000, MINUTE)  # the claimer died
        await reminders.mark_fired([r.id], r.fire_at + 2 * MINUTE)
        assert r not in await reminders.claim_due(r.fire_at + dt.timedelta(hours=1), 1000, MINUTE)
        await reminders.replace(m, [r])  # planning it again does not bring a fired reminder back
        assert await reminders.pending(m) == []

    async def test_concurrent_claimers_never_share_a_reminder(self, reminders):
        m = MeetingId(new_id())
        planned = reminders_for(m, T0, 1, 2, 3, 4, 5, 6)
        await reminders.replace(m, planned)
        barrier = asyncio.Event()

        async def claim() -> list[Reminder]:
            await barrier.wait()
            return await reminders.claim_due(T0, 1000, MINUTE)

        tasks = [asyncio.create_task(claim()) for _ in range(4)]
        await asyncio.sleep(0)
        barrier.set()
        got = [r for batch in await asyncio.gather(*tasks) for r in batch if r.meeting_id == m]
        assert sorted(r.id for r in got) == sorted(r.id for r in planned)


class PushSubscriptionsContract:
    @pytest.fixture
    async def subscriptions(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def sub(self, user: UserId, endpoint: str | None = None) -> PushSubscription:
        return PushSubscription(user_id=user, endpoint=endpoint or f"https://push.example/{new_id()}",
                                p256dh="BPk", auth="au")

    async def test_subscriptions_are_per_user_and_by_endpoint(self, subscriptions):
        user = a_user()
        a, b = self.sub(user), self.sub(user)
        await subscriptions.add(a)
        await subscriptions.add(b)
        await subscriptions.add(a)
        assert sorted(await subscriptions.of_user(user), key=lambda s: s.endpoint) == sorted(
            [a, b], key=lambda s: s.endpoint)

    async def test_an_endpoint_moves_to_the_user_who_adds_it(self, subscriptions):
        a = self.sub(a_user())
        await subscriptions.add(a)
        other = a_user()
        await subscriptions.add(self.sub(other, a.endpoint))
        assert await subscriptions.of_user(a.user_id) == []
        assert [s.endpoint for s in await subscriptions.of_user(other)] == [a.endpoint]

    async def test_remove_is_for_the_owner_and_drop_for_anyone(self, subscriptions):
        a = self.sub(a_user())
        await subscriptions.add(a)
        with pytest.raises(PushSubscriptionNotFound):
            await subscriptions.remove(a_user(), a.endpoint)
        await subscriptions.remove(a.user_id, a.endpoint)
        with pytest.raises(PushSubscriptionNotFound):
            await subscriptions.remove(a.user_id, a.endpoint)
        b = self.sub(a_user())
        await subscriptions.add(b)
        await subscriptions.drop(b.endpoint)
        await subscriptions.drop(b.endpoint)
        assert await subscriptions.of_user(b.user_id) == []


class JobQueueContract:
    """``queue`` must use a lease of about one second (the fixture's business) for the lease test."""

    @pytest.fixture
    async def queue(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def test_a_put_job_is_taken_once_equal(self, queue):
        job = a_job()
        await queue.put(job)
        (lease,) = await queue.take("w1", 10, 1.0)
        assert lease.job == job
        assert await queue.take("w2", 10, 0.05) == []
        await queue.done(lease)

    async def test_take_waits_for_a_job_put_meanwhile(self, queue):
        job = a_job()
        waiting = asyncio.create_task(queue.take("w1", 10, 5.0))
        await asyncio.sleep(0.05)
        await queue.put(job)
        (lease,) = await waiting
        assert lease.job == job
        await queue.done(lease)

    async def test_a_retried_job_comes_back_at_its_time_with_its_attempts(self, queue):
        job = a_job()
        await queue.put(job)
        (lease,) = await queue.take("w1", 10, 1.0)
        again = job.again()
        await queue.retry(lease, again, dt.datetime.now(dt.timezone.utc) + dt.timedelta(milliseconds=300))
        assert await queue.take("w1", 10, 0.0) == []
        (back,) = await queue.take("w1", 10, 5.0)
        assert back.job == again and back.job.attempts == 1
        await queue.done(back)

    async def test_a_job_put_for_later_waits(self, queue):
        job = a_job()
        await queue.put(job, at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
        assert await queue.take("w1", 10, 0.1) == []

    async def test_dead_jobs_are_listed_with_their_error(self, queue):
        job = a_job()
        await queue.put(job)
        (lease,) = await queue.take("w1", 10, 1.0)
        await queue.dead(lease, "rejected: 550 no such user")
        assert (job, "rejected: 550 no such user") in await queue.dead_letters(1000)

    async def test_a_job_whose_worker_died_goes_to_another_after_the_lease(self, queue):
        job = a_job()
        await queue.put(job)
        (lease,) = await queue.take("dead-worker", 10, 1.0)
        (again,) = await queue.take("w2", 10, 10.0)
        assert again.job == job
        await queue.done(again)

    async def test_concurrent_workers_never_share_a_job(self, queue):
        jobs = [a_job() for _ in range(30)]
        await queue.put(*jobs)
        barrier = asyncio.Event()

        async def worker(name: str) -> list[str]:
            await barrier.wait()
            got = []
            while leases := await queue.take(name, 3, 0.2):
                for lease in leases:
                    got.append(lease.job.key)
                    await queue.done(lease)
            return got

        tasks = [asyncio.create_task(worker(f"w{i}")) for i in range(4)]
        await asyncio.sleep(0)
        barrier.set()
        keys = [k for batch in await asyncio.gather(*tasks) for k in batch]
        assert sorted(keys) == sorted(j.key for j in jobs)


class SentLogContract:
    @pytest.fixture
    async def sent_log(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def test_one_claimer_at_a_time_and_never_after_sent(self, sent_log):
        key = new_id()
        assert await sent_log.claim(key, MINUTE)
        assert not await sent_log.claim(key, MINUTE)
        await sent_log.release(key)
        assert await sent_log.claim(key, MINUTE)
        assert not await sent_log.sent(key)
        await sent_log.mark_sent(key)
        assert await sent_log.sent(key)
        assert not await sent_log.claim(key, MINUTE)

    async def test_a_lapsed_claim_can_be_taken(self, sent_log):
        key = new_id()
        assert await sent_log.claim(key, dt.timedelta(milliseconds=100))
        await asyncio.sleep(0.3)
        assert await sent_log.claim(key, MINUTE)

    async def test_concurrent_claims_have_one_winner(self, sent_log):
        key = new_id()
        barrier = asyncio.Event()

        async def claim() -> bool:
            await barrier.wait()
            return await sent_log.claim(key, MINUTE)

        tasks = [asyncio.create_task(claim()) for _ in range(8)]
        await asyncio.sleep(0)
        barrier.set()
        assert sum(await asyncio.gather(*tasks)) == 1


class DeliveryLimiterContract:
    """``limiter`` allows 3 per minute."""

    @pytest.fixture
    async def limiter(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def test_the_limit_is_per_recipient_and_channel(self, limiter):
        who, now = new_id(), dt.datetime.now(dt.timezone.utc)
        for _ in range(3):
            assert await limiter.acquire(who, Channel.EMAIL, now) is None
        wait = await limiter.acquire(who, Channel.EMAIL, now)
        assert wait is not None and dt.timedelta(0) < wait <= MINUTE
        assert await limiter.acquire(who, Channel.SMS, now) is None
        assert await limiter.acquire(new_id(), Channel.EMAIL, now) is None
