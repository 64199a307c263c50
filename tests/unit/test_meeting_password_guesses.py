"""Meeting-password guesses are limited per user and meeting and per meeting, and the attempt is
reserved before argon2 runs: parallel joins held at a barrier, with the real (slow) argon2 cost."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from adapters.crypto.argon2 import Argon2PasswordHasher
from adapters.memory.limits import InMemoryAttemptLimiter
from adapters.memory.meeting_queries import InMemoryMeetingQueries
from domain.meetings import commands as mc
from domain.meetings import errors as e
from domain.meetings.rules import MeetingLimits
from domain.meetings.service import MeetingService
from domain.shared.actor import Actor
from tests.unit.conftest import register
from tests.unit.web_support import API, web_factory  # noqa: F401  (fixtures)

PIN = "4711"


class CountingHasher:
    """The real argon2 hasher, counting the verifications it performs."""

    def __init__(self, inner: Argon2PasswordHasher) -> None:
        self.inner = inner
        self.verified = 0

    async def hash(self, password: str) -> str:
        return await self.inner.hash(password)

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verified += 1
        return await self.inner.verify(password_hash, password)


@pytest.fixture(scope="module")
def real_argon2() -> Argon2PasswordHasher:
    return Argon2PasswordHasher()  # production cost, not the fast test parameters


def service_with(limits: MeetingLimits, hasher: CountingHasher, domain_meetings, domain_users, domain_uow,
                 domain_clock) -> MeetingService:
    return MeetingService(uow=domain_uow, meetings=domain_meetings, queries=InMemoryMeetingQueries(domain_meetings),
                          users=domain_users, hasher=hasher, clock=domain_clock, guesses=InMemoryAttemptLimiter(),
                          limits=limits)


async def guess_together(service: MeetingService, pairs: list[tuple[Actor, str]], meeting_id) -> list[object]:
    barrier = asyncio.Barrier(len(pairs))

    async def guess(actor: Actor, password: str) -> object:
        await barrier.wait()
        try:
            return await service.join(actor, mc.JoinMeeting(meeting_id=meeting_id, password=password))
        except e.DomainError as err:
            return err

    return await asyncio.gather(*(guess(a, p) for a, p in pairs))


async def test_130_parallel_guesses_by_one_user_verify_at_most_the_per_user_limit(
        real_argon2, user_service, domain_meetings, domain_users, domain_uow, domain_clock):
    hasher = CountingHasher(real_argon2)
    service = service_with(MeetingLimits(password_guesses_per_user=5), hasher, domain_meetings, domain_users,
                           domain_uow, domain_clock)
    host = Actor((await register(user_service, "host")).id)
    attacker = Actor((await register(user_service, "mallory")).id)
    meeting = await service.schedule(host, mc.ScheduleMeeting(title="PIN", password=PIN))
    guesses = [(attacker, f"{n:04d}") for n in range(130)]  # every PIN from 0000 to 0129, and not 4711
    outcomes = await guess_together(service, guesses, meeting.id)

    assert hasher.verified == 5
    refused = [o for o in outcomes if isinstance(o, e.TooManyPasswordGuesses)]
    assert len(refused) == 125 and all(o.details["retry_after"] == 15 * 60 for o in refused)
    assert sum(isinstance(o, e.WrongMeetingPassword) for o in outcomes) == 5
    with pytest.raises(e.TooManyPasswordGuesses):  # even the right PIN waits for the window now
        await service.join(attacker, mc.JoinMeeting(meeting_id=meeting.id, password=PIN))
    assert hasher.verified == 5


async def test_many_users_guessing_together_verify_at_most_the_per_meeting_limit(
        real_argon2, user_service, domain_meetings, domain_users, domain_uow, domain_clock):
    hasher = CountingHasher(real_argon2)
    service = service_with(MeetingLimits(password_guesses_per_user=5, password_guesses_per_meeting=12), hasher,
                           domain_meetings, domain_users, domain_uow, domain_clock)
    host = Actor((await register(user_service, "host")).id)
    crowd = [Actor((await register(user_service, f"bot{i}")).id) for i in range(10)]
    meeting = await service.schedule(host, mc.ScheduleMeeting(title="PIN", password=PIN))
    outcomes = await guess_together(service, [(a, f"{n:04d}") for a in crowd for n in range(3)], meeting.id)

    assert hasher.verified == 12
    assert sum(isinstance(o, e.TooManyPasswordGuesses) for o in outcomes) == 30 - 12


async def test_right_passwords_do_not_use_up_guesses(user_service, meeting_service, domain_clock):
    meeting_service.limits = MeetingLimits(password_guesses_per_user=2, password_guesses_per_meeting=2)
    host = Actor((await register(user_service, "host")).id)
    alice = Actor((await register(user_service, "alice")).id)
    meeting = await meeting_service.schedule(host, mc.ScheduleMeeting(title="PIN", password=PIN))
    join = mc.JoinMeeting(meeting_id=meeting.id, password=PIN)
    with pytest.raises(e.WrongMeetingPassword):
        await meeting_service.join(alice, mc.JoinMeeting(meeting_id=meeting.id, password="0000"))
    for _ in range(5):  # rejoining with the right password over and over never runs into the limit
        await meeting_service.join(alice, join)
        await meeting_service.leave(alice, meeting.id)
    with pytest.raises(e.WrongMeetingPassword):
        await meeting_service.join(alice, mc.JoinMeeting(meeting_id=meeting.id, password="0001"))
    with pytest.raises(e.TooManyPasswordGuesses) as refused:
        await meeting_service.join(alice, join)
    assert refused.value.details == {"retry_after": 15 * 60}
    domain_clock.advance(dt.timedelta(minutes=15))
    await meeting_service.join(alice, join)


async def test_the_limit_is_per_meeting_and_spares_those_who_need_no_password(user_service, meeting_service):
    meeting_service.limits = MeetingLimits(password_guesses_per_user=1)
    host = Actor((await register(user_service, "host")).id)
    alice = Actor((await register(user_service, "alice")).id)
    first = await meeting_service.schedule(host, mc.ScheduleMeeting(title="One", password=PIN))
    second = await meeting_service.schedule(host, mc.ScheduleMeeting(title="Two", password=PIN))
    with pytest.raises(e.WrongMeetingPassword):
        await meeting_service.join(alice, mc.JoinMeeting(meeting_id=first.id, password="0000"))
    with pytest.raises(e.TooManyPasswordGuesses):
        await meeting_service.join(alice, mc.JoinMeeting(meeting_id=first.id, password=PIN))
    await meeting_service.join(alice, mc.JoinMeeting(meeting_id=second.id, password=PIN))
    await meeting_service.invite(host, mc.Invite(meeting_id=first.id, user_id=alice.user_id))
    await meeting_service.join(alice, mc.JoinMeeting(meeting_id=first.id, password="wrong but invited"))


async def test_over_http_the_guess_past_the_limit_gets_429_with_retry_after(web_factory):  # noqa: F811
    web = await web_factory(APP_MEETING_PASSWORD_MAX_GUESSES="2")
    host, guest = await web.user(), await web.user()
    mid = (await web.meeting(host, password=PIN))["id"]
    for guess in ("0000", "0001"):
        wrong = await web.call("POST", f"{API}/meetings/{mid}/join", who=guest, json={"password": guess})
        assert (wrong.status, wrong.code) == (403, "wrong_meeting_password")
    limited = await web.call("POST", f"{API}/meetings/{mid}/join", who=guest, json={"password": PIN})
    assert (limited.status, limited.code) == (429, "too_many_password_guesses")
    assert limited.headers["Retry-After"] == "900"
    assert limited.body["error"]["details"] == {"retry_after": 900}
