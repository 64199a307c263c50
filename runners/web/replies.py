"""Response bodies: one model each, built from domain objects by a named constructor (``of``), which
both serialises the reply and documents it.  Fields a reply leaves out (the invitation lists of a meeting,
for people who may not manage it) are optional and simply not set."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field

from domain.meetings.model import Meeting as MeetingAggregate
from domain.meetings.model import MeetingRole
from domain.meetings.model import Participant as ParticipantEntity
from domain.rooms.media import ParticipantMediaStats
from domain.shared.actor import Actor
from domain.shared.pagination import Page
from domain.users.model import User as UserAggregate
from domain.users.tokens import TokenPair
from runners.shapes import Id, NullableStamp, Shape, Stamp

RoleName = Literal["host", "co_host", "participant"]


class ErrorInfo(Shape):
    code: str
    message: str
    details: dict[str, Any]
    request_id: str | None


class Error(Shape):
    error: ErrorInfo


class PublicUser(Shape):
    id: Id
    username: str
    display_name: str

    @classmethod
    def of(cls, u: UserAggregate) -> PublicUser:
        return cls(id=u.id, username=u.username, display_name=u.display_name)


class User(Shape):
    id: Id
    username: str
    email: str
    display_name: str
    role: Literal["user", "admin"]
    banned: bool
    created_at: Stamp
    updated_at: Stamp

    @classmethod
    def of(cls, u: UserAggregate) -> User:
        return cls(id=u.id, username=u.username, email=u.email, display_name=u.display_name, role=u.role.value,
                   banned=u.banned, created_at=u.created_at, updated_at=u.updated_at)


class UserPage(Shape):
    items: list[User]
    total: int
    offset: int
    limit: int

    @classmethod
    def of(cls, p: Page[UserAggregate]) -> UserPage:
        return cls(items=[User.of(u) for u in p.items], total=p.total, offset=p.offset, limit=p.limit)


class RefreshResponse(Shape):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int

    @classmethod
    def of(cls, pair: TokenPair) -> RefreshResponse:
        return cls(access_token=pair.access_token, refresh_token=pair.refresh_token, token_type="Bearer",
                   expires_in=pair.expires_in)


class TokenResponse(RefreshResponse):
    user: User

    @classmethod
    def of_login(cls, pair: TokenPair, user: UserAggregate) -> TokenResponse:
        return cls(access_token=pair.access_token, refresh_token=pair.refresh_token, token_type="Bearer",
                   expires_in=pair.expires_in, user=User.of(user))


class MeetingSettings(Shape):
    mute_on_join: bool
    allow_recording: bool
    invite_only: bool


MANAGERS_ONLY = "host, co-hosts and admins only"


class Meeting(Shape):
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
        return cls(
            id=m.id, host_id=m.host_id, title=m.title, description=m.description, start_time=m.start_time,
            duration_minutes=m.duration_minutes, ends_at=m.ends_at, capacity=m.capacity,
            has_password=m.password_hash is not None,
            settings=MeetingSettings(mute_on_join=m.settings.mute_on_join,
                                     allow_recording=m.settings.allow_recording,
                                     invite_only=m.settings.invite_only),
            status=m.status.value, locked=m.locked, co_host_ids=sorted(m.co_hosts),
            participant_count=len(m.participants), your_role=role.value if role else None,
            joined=actor.user_id in m.participants, created_at=m.created_at, updated_at=m.updated_at,
            started_at=m.started_at, ended_at=m.ended_at, **private)


class MeetingPage(Shape):
    items: list[Meeting]
    total: int
    offset: int
    limit: int


class Participant(Shape):
    user_id: Id
    role: RoleName
    joined_at: Stamp

    @classmethod
    def of(cls, m: MeetingAggregate, p: ParticipantEntity) -> Participant:
        role = m.role_of(p.user_id)
        return cls(user_id=p.user_id, role=role.value if role else "participant", joined_at=p.joined_at)


class ParticipantList(Shape):
    meeting_id: Id
    capacity: int
    items: list[Participant]


class Health(Shape):
    status: str
    adapters: str


class MediaTrackStats(Shape):
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


class MediaParticipantStats(Shape):
    user_id: Id
    connection_state: str
    tracks: list[MediaTrackStats]


class MediaStats(Shape, json_schema_extra={
        "description": "Only the connections held by the process that answers (the SFU of a member lives in the "
                       "process holding its signaling socket)."}):
    room_id: Id
    participants: list[MediaParticipantStats]

    @classmethod
    def of(cls, room_id: str, found: list[ParticipantMediaStats]) -> MediaStats:
        return cls(room_id=room_id, participants=[
            MediaParticipantStats(user_id=p.user_id, connection_state=p.connection_state, tracks=[
                MediaTrackStats(publisher_id=t.publisher_id, kind=t.kind, direction=t.direction, active=t.active,
                                bitrate_bps=t.bitrate_bps, packets=t.packets, packets_lost=t.packets_lost,
                                rtt_ms=t.rtt_ms, frames_forwarded=t.frames_forwarded) for t in p.tracks])
            for p in found])


RESPONSES = (Error, PublicUser, User, UserPage, RefreshResponse, TokenResponse, Meeting, MeetingPage,
             Participant, ParticipantList, Health, MediaStats)
# Documented alternatives, by name: (schema, the models it refers to).  A profile is private for oneself
# and admins, public for everybody else.
UNIONS: dict[str, tuple[dict[str, Any], tuple[type[Shape], ...]]] = {
    "UserView": ({"oneOf": [{"$ref": "#/components/schemas/User"}, {"$ref": "#/components/schemas/PublicUser"}]},
                 (User, PublicUser)),
}


def json_reply(body: Shape, status: int = 200) -> web.Response:
    """``body`` as the JSON reply (fields left unset, such as a meeting's private lists, are left out)."""
    return web.Response(body=body.model_dump_json(exclude_unset=True, by_alias=True), status=status,
                        content_type="application/json")
