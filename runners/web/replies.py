"""Response bodies: one model each, built from domain objects by a named constructor (``of``), which
both serialises the reply and documents it.  Fields a reply leaves out (the invitation lists of a meeting,
for people who may not manage it) are optional and simply not set."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import ConfigDict, Field

from domain.meetings.model import Meeting as MeetingAggregate
from domain.meetings.model import MeetingRole
from domain.meetings.model import Participant as ParticipantEntity
from domain.rooms.media import ParticipantMediaStats
from domain.shared.actor import Actor
from domain.shared.pagination import Page
from domain.users.model import User as UserAggregate
from domain.users.tokens import TokenPair
from ports.dead_letters import DeadLetter as DeadLetterRecord
from runners.shapes import Id, NullableStamp, Shape, Stamp

RoleName = Literal["host", "co_host", "participant"]


class Reply(Shape):
    """Replies are built by our code from domain objects: lax types (an integral float is an int), still
    no unknown keys, so a reply never carries what its document does not name."""

    model_config = ConfigDict(strict=False)

    @classmethod
    def make(cls, **fields: Any) -> Any:
        """Built from domain objects, which hold their own invariants: no validation on the way out
        (``model_construct``), serialisation as documented.  The web tests check every reply against the
        published document with an independent validator."""
        return cls.model_construct(**fields)


class ErrorInfo(Reply):
    code: str
    message: str
    details: dict[str, Any]
    request_id: str | None
    trace_id: str | None = None  # present when tracing is on (runners/observability/tracing.py)
    span_id: str | None = None


class Error(Reply):
    error: ErrorInfo


class PublicUser(Reply):
    id: Id
    username: str
    display_name: str

    @classmethod
    def of(cls, u: UserAggregate) -> PublicUser:
        return cls.make(id=u.id, username=u.username, display_name=u.display_name)


class User(Reply):
    id: Id
    username: str
    email: str
    display_name: str
    role: Literal["user", "admin"]
    banned: bool
    created_at: Stamp
    updated_at: Stamp
    email_verified: bool  # False until the address's verification link is followed

    @classmethod
    def of(cls, u: UserAggregate) -> User:
        return cls.make(id=u.id, username=u.username, email=u.email, display_name=u.display_name, role=u.role.value,
                   banned=u.banned, created_at=u.created_at, updated_at=u.updated_at, email_verified=u.email_verified)


class UserPage(Reply):
    items: list[User]
    total: int
    offset: int
    limit: int

    @classmethod
    def of(cls, p: Page[UserAggregate]) -> UserPage:
        return cls.make(items=[User.of(u) for u in p.items], total=p.total, offset=p.offset, limit=p.limit)


class RefreshResponse(Reply):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int

    @classmethod
    def of(cls, pair: TokenPair) -> RefreshResponse:
        return cls.make(access_token=pair.access_token, refresh_token=pair.refresh_token, token_type="Bearer",
                   expires_in=pair.expires_in)


class TokenResponse(RefreshResponse):
    user: User

    @classmethod
    def of_login(cls, pair: TokenPair, user: UserAggregate) -> TokenResponse:
        return cls.make(access_token=pair.access_token, refresh_token=pair.refresh_token, token_type="Bearer",
                        expires_in=pair.expires_in, user=User.of(user))


class MeetingSettings(Reply):
    mute_on_join: bool
    allow_recording: bool
    invite_only: bool
    allow_analysis: bool


MANAGERS_ONLY = "host, co-hosts and admins only"


class Meeting(Reply):
    id: Id
    host_id: Id
    title: str
    description: str
    start_time: Stamp
    duration_minutes: int
    ends_at: Stamp
    capacity: int
    has_password: bool
    settings: MeetingSettings
    status: Literal["scheduled", "live", "ended", "cancelled"]
    locked: bool
    captions_on: bool
    co_host_ids: list[Id]
    participant_count: int
    your_role: RoleName | None
    joined: bool
    created_at: Stamp
    updated_at: Stamp
    started_at: NullableStamp
    ended_at: NullableStamp
    invited_user_ids: Annotated[list[Id], Field(description=MANAGERS_ONLY)] = None
    invited_emails: Annotated[list[str], Field(description=MANAGERS_ONLY)] = None
    kicked_user_ids: Annotated[list[Id], Field(description=MANAGERS_ONLY)] = None

    @classmethod
    def of(cls, m: MeetingAggregate, actor: Actor, role: MeetingRole | None) -> Meeting:
        private: dict[str, Any] = {}
        if m.can_manage(actor):
            private = {"invited_user_ids": sorted(m.invited_users), "invited_emails": sorted(m.invited_emails),
                       "kicked_user_ids": sorted(m.kicked)}
        return cls.make(
            id=m.id, host_id=m.host_id, title=m.title, description=m.description, start_time=m.start_time,
            duration_minutes=m.duration_minutes, ends_at=m.ends_at, capacity=m.capacity,
            has_password=m.password_hash is not None,
            settings=MeetingSettings.make(mute_on_join=m.settings.mute_on_join,
                                     allow_recording=m.settings.allow_recording,
                                     invite_only=m.settings.invite_only,
                                     allow_analysis=m.settings.allow_analysis),
            status=m.status.value, locked=m.locked, captions_on=m.captions_on, co_host_ids=sorted(m.co_hosts),
            participant_count=len(m.participants), your_role=role.value if role else None,
            joined=actor.user_id in m.participants, created_at=m.created_at, updated_at=m.updated_at,
            started_at=m.started_at, ended_at=m.ended_at, **private)


class MeetingPage(Reply):
    items: list[Meeting]
    total: int
    offset: int
    limit: int


class Participant(Reply):
    user_id: Id
    role: RoleName
    joined_at: Stamp

    @classmethod
    def of(cls, m: MeetingAggregate, p: ParticipantEntity) -> Participant:
        role = m.role_of(p.user_id)
        return cls.make(user_id=p.user_id, role=role.value if role else "participant", joined_at=p.joined_at)


class ParticipantList(Reply):
    meeting_id: Id
    capacity: int
    items: list[Participant]


class Health(Reply):
    status: str
    adapters: str


class DependencyStatus(Reply):
    status: str  # "up" or "down"
    ms: float
    error: str | None = None  # the exception's type, or "no answer within 2.0 s"; never a DSN or URL


class Ready(Reply):
    status: str  # "ready" (200) or "unready" (503)
    checks: dict[str, DependencyStatus]


class MediaTrackStats(Reply):
    publisher_id: Id
    kind: Literal["audio", "video"]
    direction: Annotated[Literal["inbound", "outbound"], Field(
        description="inbound: published by the participant; outbound: forwarded to it")]
    active: bool
    bitrate_bps: Annotated[int, Field(description="since the last call")]
    packets: int
    packets_lost: int
    rtt_ms: float | None
    frames_forwarded: int
    layer: Annotated[int | None, Field(description=(
        "outbound video: the simulcast layer forwarded (0 = lowest; null when not decided)"))] = None
    paused_for_bandwidth: Annotated[bool, Field(description=(
        "outbound video: paused because the member's bandwidth estimate cannot carry it"))] = False


class MediaParticipantStats(Reply):
    user_id: Id
    connection_state: str
    tracks: list[MediaTrackStats]
    bandwidth_bps: Annotated[int | None, Field(description=(
        "the SFU's estimate of what the link to the member carries (REMB and loss); null when not estimated"))] = None


class MediaStats(Reply, json_schema_extra={
        "description": "Only the connections held by the process that answers (the SFU of a member lives in the "
                       "process holding its signaling socket)."}):
    room_id: Id
    participants: list[MediaParticipantStats]

    @classmethod
    def of(cls, room_id: str, found: list[ParticipantMediaStats]) -> MediaStats:
        return cls.make(room_id=room_id, participants=[
            MediaParticipantStats.make(user_id=p.user_id, connection_state=p.connection_state, tracks=[
                MediaTrackStats.make(publisher_id=t.publisher_id, kind=t.kind, direction=t.direction, active=t.active,
                                bitrate_bps=t.bitrate_bps, packets=t.packets, packets_lost=t.packets_lost,
                                rtt_ms=t.rtt_ms, frames_forwarded=t.frames_forwarded, layer=t.layer,
                                paused_for_bandwidth=t.paused_for_bandwidth) for t in p.tracks],
                bandwidth_bps=p.bandwidth_bps)
            for p in found])


# Documented alternatives, by name: (schema, the models it refers to).  A profile is private for oneself
# and admins, public for everybody else.
UNIONS: dict[str, tuple[dict[str, Any], tuple[type[Reply], ...]]] = {
    "UserView": ({"oneOf": [{"$ref": "#/components/schemas/User"}, {"$ref": "#/components/schemas/PublicUser"}]},
                 (User, PublicUser)),
}


def json_reply(body: Reply, status: int = 200) -> web.Response:
    """``body`` as the JSON reply (fields left unset, such as a meeting's private lists, are left out)."""
    return web.Response(body=body.model_dump_json(exclude_unset=True, by_alias=True), status=status,
                        content_type="application/json")


class DeadLetter(Reply):
    id: str
    name: str
    event_id: str
    occurred_at: NullableStamp
    payload: dict[str, Any]
    consumer: str
    error: str
    attempts: int
    failed_at: Stamp

    @classmethod
    def of(cls, d: DeadLetterRecord) -> DeadLetter:
        return cls.make(id=d.id, name=d.name, event_id=d.event_id, occurred_at=d.occurred_at, payload=d.payload,
                        consumer=d.consumer, error=d.error, attempts=d.attempts, failed_at=d.failed_at)


class DeadLetterPage(Reply):
    items: list[DeadLetter]
    total: int
    offset: int
    limit: int

    @classmethod
    def of(cls, p: Page[DeadLetterRecord]) -> DeadLetterPage:
        return cls.make(items=[DeadLetter.of(d) for d in p.items], total=p.total, offset=p.offset, limit=p.limit)
