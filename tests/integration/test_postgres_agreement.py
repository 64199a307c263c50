"""The PostgreSQL repositories and the in-memory oracle, driven by the same random operations, must
return equal results or raise the same error type."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from adapters.memory.meeting_queries import InMemoryMeetingQueries
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.users import InMemoryUserRepository
from adapters.postgres.meeting_queries import PostgresMeetingQueries
from adapters.postgres.meetings import PostgresMeetingRepository
from adapters.postgres.pool import open_pool
from adapters.postgres.users import PostgresUserRepository
from domain.meetings.commands import Relation, When
from domain.meetings.model import Meeting, MeetingSettings, MeetingStatus, Participant
from domain.shared.errors import DomainError
from domain.shared.ids import MeetingId, UserId, new_id
from domain.shared.pagination import PageRequest
from domain.users.errors import EmailTaken, UsernameTaken
from domain.users.model import Role, User
from confero_contracts.factories import T0
from tests.integration.postgres_fixtures import postgres_dsn, truncate_all  # noqa: F401

pytestmark = pytest.mark.integration

# Small pools make clashes, shared start times and overlapping memberships likely.
PEOPLE = [UserId(new_id()) for _ in range(4)]
EMAILS = ["ann@x.io", "bob@x.io", "cy@y.org"]
USERNAMES = ["ann", "Ann", "ANN_2", "bob.b", "Bob.B", "cy-1"]
# No NUL: PostgreSQL text cannot hold it (the adapter answers InvalidArgument, memory stores it).
TEXT = st.text(alphabet="abAB é%_.-@x\\", min_size=1, max_size=6)
TIMES = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1),
                     timezones=st.just(dt.timezone.utc))
STARTS = st.sampled_from([T0 + dt.timedelta(minutes=m, microseconds=m) for m in (0, 5, 90)])  # ties break by id
QUERIES = st.sampled_from(["", "a", "AN", "x.io", "%", "_", "é", "b@", ".b"]) | TEXT
PAGES = st.builds(PageRequest, offset=st.integers(0, 6), limit=st.integers(1, 5))
ids = lambda: st.frozensets(st.sampled_from(PEOPLE), max_size=3).map(set)  # noqa: E731

users = st.builds(
    User, id=st.builds(lambda: UserId(new_id())), username=st.sampled_from(USERNAMES), email=st.sampled_from(EMAILS),
    password_hash=TEXT, display_name=TEXT, role=st.sampled_from(Role), banned=st.booleans(), created_at=TIMES,
    updated_at=TIMES)


@st.composite
def meetings(draw: st.DrawFn, meeting_id: MeetingId | None = None) -> Meeting:
    present = draw(ids())
    return Meeting(
        id=meeting_id or MeetingId(new_id()), host_id=draw(st.sampled_from(PEOPLE)), title=draw(TEXT),
        description=draw(TEXT | st.just("")), start_time=draw(STARTS), duration_minutes=draw(st.integers(1, 1440)),
        capacity=draw(st.integers(2, 1000)), password_hash=draw(st.none() | TEXT),
        settings=draw(st.builds(MeetingSettings, mute_on_join=st.booleans(), allow_recording=st.booleans(),
                                invite_only=st.booleans())),
        status=draw(st.sampled_from(MeetingStatus)), locked=draw(st.booleans()), captions_on=draw(st.booleans()),
        co_hosts=draw(ids()),
        invited_users=draw(ids()), invited_emails=draw(st.frozensets(st.sampled_from(EMAILS)).map(set)),
        kicked=draw(ids()), participants={u: Participant(user_id=u, joined_at=draw(TIMES)) for u in present},
        attendees=present | draw(ids()), created_at=draw(TIMES), updated_at=draw(TIMES),
        started_at=draw(st.none() | TIMES), ended_at=draw(st.none() | TIMES),
    )


class RepositoriesAgree(RuleBasedStateMachine):
    loaded_users = Bundle("loaded_users")
    loaded_meetings = Bundle("loaded_meetings")

    def __init__(self, dsn: str) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.stack = contextlib.AsyncExitStack()
        pool = self.run(self.stack.enter_async_context(open_pool(dsn, max_size=2)))
        self.run(truncate_all(pool))
        self.pg_users, self.pg_meetings = PostgresUserRepository(pool), PostgresMeetingRepository(pool)
        self.mem_users, self.mem_meetings = InMemoryUserRepository(), InMemoryMeetingRepository()
        self.pg_queries, self.mem_queries = PostgresMeetingQueries(pool), InMemoryMeetingQueries(self.mem_meetings)
        self.user_ids: list[UserId] = []
        self.meeting_ids: list[MeetingId] = []

    def run(self, coro: Any) -> Any:
        return self.runner.run(coro)

    def teardown(self) -> None:
        self.run(self.stack.aclose())
        self.runner.close()

    def both(self, call: Any, *, same_error: Any = None) -> Any:
        """Runs ``call(side)`` for Postgres, then for memory; both outcomes must be equal.  Errors are
        compared through ``same_error`` (by default their type)."""
        outcomes = []
        for side in ("pg", "mem"):
            try:
                outcomes.append(("ok", self.run(call(side))))
            except DomainError as exc:
                outcomes.append(("error", (same_error or type)(exc)))
        assert outcomes[0] == outcomes[1], outcomes
        return outcomes[0]

    def users_of(self, side: str) -> Any:
        return self.pg_users if side == "pg" else self.mem_users

    def meetings_of(self, side: str) -> Any:
        return self.pg_meetings if side == "pg" else self.mem_meetings

    def queries_of(self, side: str) -> Any:
        return self.pg_queries if side == "pg" else self.mem_queries

    def clashes_twice(self, user: User) -> bool:
        """Username and email taken by others: the port does not say which error wins then."""
        by_name = self.run(self.mem_users.find_by_login(user.username))
        by_email = self.run(self.mem_users.find_by_email(user.email))
        return by_name is not None and by_email is not None and by_name.id != user.id != by_email.id

    def taken_error(self, user: User) -> Any:
        twice = self.clashes_twice(user)
        return lambda exc: "taken" if twice and isinstance(exc, (UsernameTaken, EmailTaken)) else type(exc)

    @initialize(some_users=st.lists(users, max_size=4), some_meetings=st.lists(meetings(), min_size=2, max_size=10))
    def seed(self, some_users: list[User], some_meetings: list[Meeting]) -> None:
        for user in some_users:
            self.add_user_now(user)
        for meeting in some_meetings:
            self.both(lambda s: self.meetings_of(s).add(meeting.copy()))
            self.meeting_ids.append(meeting.id)

    # -- users -------------------------------------------------------------------------------------

    @rule(user=users, data=st.data(), reuse=st.booleans())
    def add_user(self, user: User, data: st.DataObject, reuse: bool) -> None:
        if reuse and self.user_ids:
            user.id = data.draw(st.sampled_from(self.user_ids))
        self.add_user_now(user)

    def add_user_now(self, user: User) -> None:
        outcome = self.both(lambda s: self.users_of(s).add(user.copy()), same_error=self.taken_error(user))
        if outcome[0] == "ok":
            self.user_ids.append(user.id)

    @rule(target=loaded_users, data=st.data())
    def load_user(self, data: st.DataObject) -> User:
        user_id = data.draw(st.sampled_from(self.user_ids) if self.user_ids else st.builds(new_id))
        outcome = self.both(lambda s: self.users_of(s).get(user_id))
        # An unknown id still yields a handle: saving it must raise UserNotFound on both sides.
        return outcome[1] if outcome[0] == "ok" else data.draw(users)

    @rule(user=loaded_users, username=st.none() | st.sampled_from(USERNAMES), email=st.none() | st.sampled_from(EMAILS),
          display=st.none() | TEXT, banned=st.none() | st.booleans(), version_skew=st.sampled_from([0, 0, 0, -1, 1]))
    def save_user(self, user: User, username, email, display, banned, version_skew) -> None:
        user.username = username or user.username
        user.email = email or user.email
        user.display_name = display or user.display_name
        user.banned = user.banned if banned is None else banned
        user.version += version_skew
        pg_copy, mem_copy = user.copy(), user.copy()
        copies = {"pg": pg_copy, "mem": mem_copy}
        self.both(lambda s: self.users_of(s).save(copies[s]), same_error=self.taken_error(user))
        assert pg_copy.version == mem_copy.version
        user.version = pg_copy.version  # a later save of this handle is current again, or stale

    @rule(login=st.sampled_from(USERNAMES + EMAILS) | TEXT)
    def find_user(self, login: str) -> None:
        self.both(lambda s: self.users_of(s).find_by_login(login))
        self.both(lambda s: self.users_of(s).find_by_email(login))

    @rule(query=QUERIES, page=PAGES)
    def search_users(self, query: str, page: PageRequest) -> None:
        self.both(lambda s: self.users_of(s).search(query, page))

    # -- meetings ----------------------------------------------------------------------------------

    @rule(data=st.data(), reuse=st.booleans())
    def add_meeting(self, data: st.DataObject, reuse: bool) -> None:
        meeting_id = data.draw(st.sampled_from(self.meeting_ids)) if reuse and self.meeting_ids else None
        meeting = data.draw(meetings(meeting_id))
        if self.both(lambda s: self.meetings_of(s).add(meeting.copy()))[0] == "ok":
            self.meeting_ids.append(meeting.id)

    @rule(target=loaded_meetings, data=st.data())
    def load_meeting(self, data: st.DataObject) -> Any:
        meeting_id = data.draw(st.sampled_from(self.meeting_ids) if self.meeting_ids else st.builds(new_id))
        outcome = self.both(lambda s: self.meetings_of(s).get(meeting_id))
        return outcome[1] if outcome[0] == "ok" else data.draw(meetings(meeting_id))

    @rule(meeting=loaded_meetings, data=st.data(), version_skew=st.sampled_from([0, 0, 0, -1, 1]))
    def save_meeting(self, meeting: Meeting, data: st.DataObject, version_skew: int) -> None:
        changed = data.draw(meetings(meeting.id))
        for name in ("status", "start_time", "co_hosts", "invited_users", "invited_emails", "attendees",
                     "participants", "host_id", "title"):
            if data.draw(st.booleans()):
                setattr(meeting, name, getattr(changed, name))
        # Mixing fields of two meetings must still keep the aggregate's invariant that everyone in the
        # meeting has attended it (Meeting.join adds to both): PostgreSQL stores that as one row.
        meeting.attendees |= set(meeting.participants)
        meeting.version += version_skew
        copies = {"pg": meeting.copy(), "mem": meeting.copy()}
        self.both(lambda s: self.meetings_of(s).save(copies[s]))
        assert copies["pg"].version == copies["mem"].version
        meeting.version = copies["pg"].version

    @rule(data=st.data())
    def delete_meeting(self, data: st.DataObject) -> None:
        meeting_id = data.draw(st.sampled_from(self.meeting_ids) if self.meeting_ids else st.builds(new_id))
        self.both(lambda s: self.meetings_of(s).delete(meeting_id))

    @rule(user_id=st.sampled_from(PEOPLE), email=st.none() | st.sampled_from(EMAILS),
          relation=st.sampled_from(Relation), when=st.sampled_from(When), page=PAGES)
    def list_meetings(self, user_id, email, relation, when, page) -> None:
        self.both(lambda s: self.queries_of(s).list_for_user(user_id, email, relation, when, page))

    @invariant()
    def everyone_is_stored_alike(self) -> None:
        self.both(lambda s: self.users_of(s).search("", PageRequest(limit=100)))


# Shrinking replays hundreds of database-backed runs and would outlast the test timeout, turning a
# readable counterexample into a timeout.  Set AGREEMENT_SHRINK=1 to minimise one locally.
PHASES = [p for p in Phase if p is not Phase.shrink or os.environ.get("AGREEMENT_SHRINK")]
AGREEMENT = settings(max_examples=40, stateful_step_count=30, deadline=None, database=None, phases=PHASES,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def test_postgres_repositories_agree_with_the_in_memory_ones(postgres_dsn):  # noqa: F811
    run_state_machine_as_test(lambda: RepositoriesAgree(postgres_dsn), settings=AGREEMENT)
