from __future__ import annotations

from typing import Any

from aiohttp import web

from domain.meetings import commands as c
from domain.meetings.model import Meeting, MeetingSettings
from domain.shared.ids import MeetingId, UserId
from runners.web import views
from runners.web.context import actor, services
from runners.web.handlers.users import PAGING
from runners.web.routing import QueryParam, routes
from runners.web.validation import json_body, page_request, parse_time, path_id, query_enum, whole

TAG = "meetings"
ERR = (401, 403, 404, 409)


async def _view(request: web.Request, m: Meeting) -> dict[str, Any]:
    return views.meeting(m, actor(request), await services(request).meetings.role_of(actor(request), m))


async def _meeting(request: web.Request, m: Meeting, status: int = 200) -> web.Response:
    return web.json_response(await _view(request, m), status=status)


@routes.post("/api/v1/meetings", summary="Schedule a meeting (the caller hosts it)", tag=TAG,
             body="CreateMeetingRequest", status=201, response="Meeting", errors=(400, 401, 413, 415, 422))
async def create(request: web.Request) -> web.Response:
    data = await json_body(request, "CreateMeetingRequest")
    s = data.get("settings", {})
    cmd = c.ScheduleMeeting(
        title=data["title"], description=data.get("description", ""),
        start_time=parse_time(data["start_time"], "start_time") if "start_time" in data else None,
        duration_minutes=whole(data.get("duration_minutes", c.DEFAULT_DURATION_MINUTES)),
        capacity=whole(data.get("capacity", c.DEFAULT_CAPACITY)), password=data.get("password"),
        settings=MeetingSettings(**s))
    return await _meeting(request, await services(request).meetings.schedule(actor(request), cmd), 201)


@routes.get("/api/v1/meetings", summary="My meetings: hosted, invited, joined; upcoming or past", tag=TAG,
            response="MeetingPage", errors=(401, 422), query=(
                QueryParam(name="relation", schema={"type": "string", "enum": [r.value for r in c.Relation],
                                                    "default": "all"}),
                QueryParam(name="when", schema={"type": "string", "enum": [w.value for w in c.When],
                                                "default": "upcoming"}), *PAGING))
async def list_mine(request: web.Request) -> web.Response:
    relation = query_enum(request, "relation", c.Relation, c.Relation.ALL)
    when = query_enum(request, "when", c.When, c.When.UPCOMING)
    found = await services(request).meetings.list_mine(actor(request), relation, when, page_request(request))
    roles = await services(request).meetings.roles_of(actor(request), list(found.items))
    items = [views.meeting(m, actor(request), role) for m, role in zip(found.items, roles)]
    return web.json_response({"items": items, "total": found.total, "offset": found.offset, "limit": found.limit})


@routes.get("/api/v1/meetings/{id}", summary="A meeting", tag=TAG, response="Meeting", errors=(401, 403, 404))
async def get(request: web.Request) -> web.Response:
    return await _meeting(request, await services(request).meetings.get(actor(request), MeetingId(path_id(request))))


@routes.put("/api/v1/meetings/{id}", summary="Change a meeting (host)", tag=TAG, body="UpdateMeetingRequest",
            response="Meeting", errors=(400, *ERR, 413, 415, 422))
async def update(request: web.Request) -> web.Response:
    meeting_id = MeetingId(path_id(request))
    data = await json_body(request, "UpdateMeetingRequest")
    s = data.get("settings", {})
    cmd = c.UpdateMeeting(
        meeting_id=meeting_id, title=data.get("title"), description=data.get("description"),
        start_time=parse_time(data["start_time"], "start_time") if "start_time" in data else None,
        duration_minutes=whole(data.get("duration_minutes")), capacity=whole(data.get("capacity")),
        password=data.get("password"), clear_password="password" in data and data["password"] is None,
        mute_on_join=s.get("mute_on_join"), allow_recording=s.get("allow_recording"),
        invite_only=s.get("invite_only"))
    return await _meeting(request, await services(request).meetings.update(actor(request), cmd))


@routes.delete("/api/v1/meetings/{id}", summary="Delete a meeting (host)", tag=TAG, status=204,
               errors=(401, 403, 404))
async def delete(request: web.Request) -> web.Response:
    await services(request).meetings.delete(actor(request), MeetingId(path_id(request)))
    return web.Response(status=204)


@routes.post("/api/v1/meetings/{id}/join", summary="Join a meeting", tag=TAG, body="JoinMeetingRequest",
             body_required=False, response="Meeting", errors=(400, *ERR, 422))
async def join(request: web.Request) -> web.Response:
    meeting_id = MeetingId(path_id(request))
    data = await json_body(request, "JoinMeetingRequest", required=False)
    cmd = c.JoinMeeting(meeting_id=meeting_id, password=data.get("password"))
    return await _meeting(request, await services(request).meetings.join(actor(request), cmd))


@routes.post("/api/v1/meetings/{id}/leave", summary="Leave a meeting", tag=TAG, response="Meeting", errors=ERR)
async def leave(request: web.Request) -> web.Response:
    return await _meeting(request, await services(request).meetings.leave(actor(request), MeetingId(path_id(request))))


@routes.get("/api/v1/meetings/{id}/participants", summary="Who is in the meeting now", tag=TAG,
            response="ParticipantList", errors=ERR)
async def participants(request: web.Request) -> web.Response:
    m, people = await services(request).meetings.participants(actor(request), MeetingId(path_id(request)))
    return web.json_response({"meeting_id": m.id, "capacity": m.capacity,
                              "items": [views.participant(m, p) for p in people]})


@routes.post("/api/v1/meetings/{id}/invitations", summary="Invite a user by id or email (host, co-host)",
             tag=TAG, body="InviteRequest", response="Meeting", errors=(400, *ERR, 422))
async def invite(request: web.Request) -> web.Response:
    meeting_id = MeetingId(path_id(request))
    data = await json_body(request, "InviteRequest")
    cmd = c.Invite(meeting_id=meeting_id, user_id=data.get("user_id"), email=data.get("email"))
    return await _meeting(request, await services(request).meetings.invite(actor(request), cmd))


async def _host_action(request: web.Request, action: c.HostAction, target: str | None = None) -> web.Response:
    meeting_id = MeetingId(path_id(request))
    target = target or path_id(request, "user_id")
    m = await services(request).meetings.host_action(actor(request), meeting_id, action, UserId(target))
    return await _meeting(request, m)


@routes.post("/api/v1/meetings/{id}/participants/{user_id}/kick", summary="Remove someone for good (host, co-host)",
             tag=TAG, response="Meeting", errors=ERR)
async def kick(request: web.Request) -> web.Response:
    return await _host_action(request, c.HostAction.KICK)


@routes.post("/api/v1/meetings/{id}/cohosts/{user_id}", summary="Make someone a co-host (host)", tag=TAG,
             response="Meeting", errors=ERR)
async def promote(request: web.Request) -> web.Response:
    return await _host_action(request, c.HostAction.PROMOTE)


@routes.delete("/api/v1/meetings/{id}/cohosts/{user_id}", summary="Demote a co-host (host)", tag=TAG,
               response="Meeting", errors=ERR)
async def demote(request: web.Request) -> web.Response:
    return await _host_action(request, c.HostAction.DEMOTE)


@routes.post("/api/v1/meetings/{id}/transfer-host", summary="Hand the meeting to someone else (host)", tag=TAG,
             body="TransferHostRequest", response="Meeting", errors=(400, *ERR, 422))
async def transfer_host(request: web.Request) -> web.Response:
    path_id(request)
    data = await json_body(request, "TransferHostRequest")
    return await _host_action(request, c.HostAction.TRANSFER_HOST, data["user_id"])


def _meeting_action(action: c.MeetingAction, summary: str) -> None:
    async def handler(request: web.Request) -> web.Response:
        m = await services(request).meetings.meeting_action(actor(request), MeetingId(path_id(request)), action)
        return await _meeting(request, m)

    handler.__name__ = action.value
    routes.post(f"/api/v1/meetings/{{id}}/{action.value}", summary=summary, tag=TAG, response="Meeting",
                errors=ERR)(handler)


_meeting_action(c.MeetingAction.LOCK, "Lock: only host and co-hosts may join (host, co-host)")
_meeting_action(c.MeetingAction.UNLOCK, "Unlock (host, co-host)")
_meeting_action(c.MeetingAction.END, "End for everyone (host)")
_meeting_action(c.MeetingAction.CANCEL, "Cancel a meeting that has not started (host)")
