from __future__ import annotations

from aiohttp import web

from domain.captions.errors import CaptionsUnavailable
from domain.meetings import commands as c
from domain.meetings.model import Meeting as MeetingAggregate
from domain.shared.ids import MeetingId, UserId
from runners.web.bodies import CreateMeetingRequest, InviteRequest, JoinMeetingRequest, TransferHostRequest, \
    UpdateMeetingRequest
from runners.web.context import actor, services
from runners.web.replies import Meeting, MeetingPage, Participant, ParticipantList, json_reply
from runners.web.routing import Endpoint, QueryParam
from runners.web.validation import PAGING, page_request, parse_body, path_id, query_enum

TAG = "meetings"
ERR = (401, 403, 404, 409)


async def _meeting(request: web.Request, m: MeetingAggregate, status: int = 200) -> web.Response:
    role = await services(request).meetings.role_of(actor(request), m)
    return json_reply(Meeting.of(m, actor(request), role), status=status)


async def create(request: web.Request) -> web.Response:
    body = await parse_body(request, CreateMeetingRequest)
    return await _meeting(request, await services(request).meetings.schedule(actor(request), body.command()), 201)


async def list_mine(request: web.Request) -> web.Response:
    relation = query_enum(request, "relation", c.Relation, c.Relation.ALL)
    when = query_enum(request, "when", c.When, c.When.UPCOMING)
    found = await services(request).meetings.list_mine(actor(request), relation, when, page_request(request))
    roles = await services(request).meetings.roles_of(actor(request), list(found.items))
    items = [Meeting.of(m, actor(request), role) for m, role in zip(found.items, roles)]
    return json_reply(MeetingPage(items=items, total=found.total, offset=found.offset, limit=found.limit))


async def get(request: web.Request) -> web.Response:
    return await _meeting(request, await services(request).meetings.get(actor(request), MeetingId(path_id(request))))


async def update(request: web.Request) -> web.Response:
    meeting_id = MeetingId(path_id(request))
    body = await parse_body(request, UpdateMeetingRequest)
    return await _meeting(request, await services(request).meetings.update(actor(request), body.command(meeting_id)))


async def delete(request: web.Request) -> web.Response:
    await services(request).meetings.delete(actor(request), MeetingId(path_id(request)))
    return web.Response(status=204)


async def join(request: web.Request) -> web.Response:
    meeting_id = MeetingId(path_id(request))
    body = await parse_body(request, JoinMeetingRequest, required=False)
    return await _meeting(request, await services(request).meetings.join(actor(request), body.command(meeting_id)))


async def leave(request: web.Request) -> web.Response:
    return await _meeting(request, await services(request).meetings.leave(actor(request), MeetingId(path_id(request))))


async def participants(request: web.Request) -> web.Response:
    m, people = await services(request).meetings.participants(actor(request), MeetingId(path_id(request)))
    return json_reply(ParticipantList(meeting_id=m.id, capacity=m.capacity,
                                      items=[Participant.of(m, p) for p in people]))


async def invite(request: web.Request) -> web.Response:
    meeting_id = MeetingId(path_id(request))
    body = await parse_body(request, InviteRequest)
    return await _meeting(request, await services(request).meetings.invite(actor(request), body.command(meeting_id)))


async def _host_action(request: web.Request, action: c.HostAction, target: str | None = None) -> web.Response:
    meeting_id = MeetingId(path_id(request))
    target = target or path_id(request, "user_id")
    m = await services(request).meetings.host_action(actor(request), meeting_id, action, UserId(target))
    return await _meeting(request, m)


async def kick(request: web.Request) -> web.Response:
    return await _host_action(request, c.HostAction.KICK)


async def promote(request: web.Request) -> web.Response:
    return await _host_action(request, c.HostAction.PROMOTE)


async def demote(request: web.Request) -> web.Response:
    return await _host_action(request, c.HostAction.DEMOTE)


async def transfer_host(request: web.Request) -> web.Response:
    path_id(request)
    body = await parse_body(request, TransferHostRequest)
    return await _host_action(request, c.HostAction.TRANSFER_HOST, body.user_id)


def _meeting_action(action: c.MeetingAction, summary: str, path: str | None = None,
                    errors: tuple[int, ...] = ERR) -> Endpoint:
    async def handler(request: web.Request) -> web.Response:
        if action is c.MeetingAction.CAPTIONS_ON and services(request).captions is None:
            raise CaptionsUnavailable("this server makes no live captions")
        m = await services(request).meetings.meeting_action(actor(request), MeetingId(path_id(request)), action)
        return await _meeting(request, m)

    handler.__name__ = action.value
    return Endpoint.post(f"/api/v1/meetings/{{id}}/{path or action.value}", handler, summary=summary, tag=TAG,
                         response=Meeting, errors=errors)


ROUTES = (
    Endpoint.post("/api/v1/meetings", create, summary="Schedule a meeting (the caller hosts it)", tag=TAG,
                  body=CreateMeetingRequest, status=201, response=Meeting, errors=(400, 401, 413, 415, 422)),
    Endpoint.get("/api/v1/meetings", list_mine, summary="My meetings: hosted, invited, joined; upcoming or past",
                 tag=TAG, response=MeetingPage, errors=(401, 422), query=(
                     QueryParam(name="relation", schema={"type": "string", "enum": [r.value for r in c.Relation],
                                                         "default": "all"}),
                     QueryParam(name="when", schema={"type": "string", "enum": [w.value for w in c.When],
                                                     "default": "upcoming"}), *PAGING)),
    Endpoint.get("/api/v1/meetings/{id}", get, summary="A meeting", tag=TAG, response=Meeting, errors=(401, 403, 404)),
    Endpoint.put("/api/v1/meetings/{id}", update, summary="Change a meeting (host)", tag=TAG,
                 body=UpdateMeetingRequest, response=Meeting, errors=(400, *ERR, 413, 415, 422)),
    Endpoint.delete("/api/v1/meetings/{id}", delete, summary="Delete a meeting (host)", tag=TAG, status=204,
                    errors=(401, 403, 404)),
    Endpoint.post("/api/v1/meetings/{id}/join", join, summary="Join a meeting", tag=TAG, body=JoinMeetingRequest,
                  body_required=False, response=Meeting, errors=(400, *ERR, 422)),
    Endpoint.post("/api/v1/meetings/{id}/leave", leave, summary="Leave a meeting", tag=TAG, response=Meeting,
                  errors=ERR),
    Endpoint.get("/api/v1/meetings/{id}/participants", participants, summary="Who is in the meeting now", tag=TAG,
                 response=ParticipantList, errors=ERR),
    Endpoint.post("/api/v1/meetings/{id}/invitations", invite, summary="Invite a user by id or email (host, co-host)",
                  tag=TAG, body=InviteRequest, response=Meeting, errors=(400, *ERR, 422)),
    Endpoint.post("/api/v1/meetings/{id}/participants/{user_id}/kick", kick,
                  summary="Remove someone for good (host, co-host)", tag=TAG, response=Meeting, errors=ERR),
    Endpoint.post("/api/v1/meetings/{id}/cohosts/{user_id}", promote, summary="Make someone a co-host (host)",
                  tag=TAG, response=Meeting, errors=ERR),
    Endpoint.delete("/api/v1/meetings/{id}/cohosts/{user_id}", demote, summary="Demote a co-host (host)", tag=TAG,
                    response=Meeting, errors=ERR),
    Endpoint.post("/api/v1/meetings/{id}/transfer-host", transfer_host,
                  summary="Hand the meeting to someone else (host)", tag=TAG, body=TransferHostRequest,
                  response=Meeting, errors=(400, *ERR, 422)),
    _meeting_action(c.MeetingAction.LOCK, "Lock: only host and co-hosts may join (host, co-host)"),
    _meeting_action(c.MeetingAction.UNLOCK, "Unlock (host, co-host)"),
    _meeting_action(c.MeetingAction.CAPTIONS_ON, "Turn live captions on for everyone (host, co-host; live "
                    "meetings only); 409 captions_unavailable when this server makes none", "captions/on"),
    _meeting_action(c.MeetingAction.CAPTIONS_OFF, "Turn live captions off (host, co-host)", "captions/off"),
    _meeting_action(c.MeetingAction.END, "End for everyone (host)"),
    _meeting_action(c.MeetingAction.CANCEL, "Cancel a meeting that has not started (host)"),
)
