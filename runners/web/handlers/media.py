from __future__ import annotations

from aiohttp import web

from domain.shared.ids import MeetingId, is_valid_id
from runners.web.context import actor, services
from runners.web.errors import RequestError
from runners.web.replies import MediaStats, json_reply
from runners.web.routing import Endpoint, QueryParam

TAG = "media"


async def stats(request: web.Request) -> web.Response:
    room_id = request.query.get("room_id", "")
    if not is_valid_id(room_id):
        raise RequestError(422, "invalid_request", "room_id must be a meeting id", field="room_id")
    found = await services(request).rooms.media_stats(actor(request), MeetingId(room_id))
    return json_reply(MediaStats.of(room_id, found))


ROUTES = (
    Endpoint.get("/api/v1/media/stats", stats,
                 summary="Media statistics of a live meeting's SFU connections (host, co-hosts)", tag=TAG,
                 response=MediaStats, errors=(401, 403, 404, 422),
                 query=(QueryParam(name="room_id", schema={"type": "string", "format": "uuid"},
                                   description="the meeting id (required)"),)),
)
