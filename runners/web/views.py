"""Domain objects -> JSON-ready dicts (the response shapes in schemas.RESPONSES)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.meetings.model import Meeting, MeetingRole, Participant
from domain.rooms.media import ParticipantMediaStats
from domain.shared.actor import Actor
from domain.shared.pagination import Page
from domain.users.model import User
from domain.users.tokens import TokenPair


def iso(t: dt.datetime | None) -> str | None:
    return t.isoformat(timespec="microseconds").replace("+00:00", "Z") if t is not None else None


def user_private(u: User) -> dict[str, Any]:
    return {"id": u.id, "username": u.username, "email": u.email, "display_name": u.display_name,
            "role": u.role.value, "banned": u.banned, "created_at": iso(u.created_at), "updated_at": iso(u.updated_at)}


def user_public(u: User) -> dict[str, Any]:
    return {"id": u.id, "username": u.username, "display_name": u.display_name}


def tokens(pair: TokenPair, user: User | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"access_token": pair.access_token, "refresh_token": pair.refresh_token,
                           "token_type": "Bearer", "expires_in": pair.expires_in}
    if user is not None:
        out["user"] = user_private(user)
    return out


def meeting(m: Meeting, actor: Actor, role: MeetingRole | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": m.id, "host_id": m.host_id, "title": m.title, "description": m.description,
        "start_time": iso(m.start_time), "duration_minutes": m.duration_minutes, "ends_at": iso(m.ends_at),
        "capacity": m.capacity, "has_password": m.password_hash is not None,
        "settings": {"mute_on_join": m.settings.mute_on_join, "allow_recording": m.settings.allow_recording,
                     "invite_only": m.settings.invite_only},
        "status": m.status.value, "locked": m.locked, "co_host_ids": sorted(m.co_hosts),
        "participant_count": len(m.participants), "your_role": role.value if role else None,
        "joined": actor.user_id in m.participants,
        "created_at": iso(m.created_at), "updated_at": iso(m.updated_at),
        "started_at": iso(m.started_at), "ended_at": iso(m.ended_at),
    }
    if m.can_manage(actor):
        out |= {"invited_user_ids": sorted(m.invited_users), "invited_emails": sorted(m.invited_emails),
                "kicked_user_ids": sorted(m.kicked)}
    return out


def participant(m: Meeting, p: Participant) -> dict[str, Any]:
    role = m.role_of(p.user_id)
    return {"user_id": p.user_id, "role": role.value if role else "participant", "joined_at": iso(p.joined_at)}


def page(p: Page[Any], render: Any) -> dict[str, Any]:
    return {"items": [render(x) for x in p.items], "total": p.total, "offset": p.offset, "limit": p.limit}


def media_stats(room_id: str, participants: list[ParticipantMediaStats]) -> dict[str, Any]:
    return {"room_id": room_id, "participants": [
        {"user_id": p.user_id, "connection_state": p.connection_state, "tracks": [
            {"publisher_id": t.publisher_id, "kind": t.kind, "direction": t.direction, "active": t.active,
             "bitrate_bps": t.bitrate_bps, "packets": t.packets, "packets_lost": t.packets_lost,
             "rtt_ms": t.rtt_ms, "frames_forwarded": t.frames_forwarded} for t in p.tracks]}
        for p in participants]}
