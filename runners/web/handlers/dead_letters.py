"""Dead letters for administrators: events a consumer gave up on, and replaying them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ports.dead_letters import DeadLetter
from runners.web import views
from runners.web.context import actor, services
from runners.web.handlers.users import PAGING
from runners.web.routing import routes
from runners.web.validation import RequestError, page_request

TAG = "admin"
MAX_ID = 64


def dead_letter(d: DeadLetter) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "event_id": d.event_id,
            "occurred_at": None if d.occurred_at is None else d.occurred_at.isoformat(), "payload": d.payload,
            "consumer": d.consumer, "error": d.error, "attempts": d.attempts, "failed_at": d.failed_at.isoformat()}


@routes.get("/api/v1/admin/dead-letters", summary="Events consumers gave up on, oldest first (admin)", tag=TAG,
            response="DeadLetterPage", query=PAGING, errors=(401, 403, 422))
async def list_dead_letters(request: web.Request) -> web.Response:
    found = await services(request).dead_letters.list(actor(request), page_request(request))
    return web.json_response(views.page(found, dead_letter))


@routes.post("/api/v1/admin/dead-letters/{id}/replay", tag=TAG, status=204, errors=(401, 403, 404),
             summary="Hand a dead letter again to the consumer that failed it, and drop it (admin)")
async def replay_dead_letter(request: web.Request) -> web.Response:
    letter_id = request.match_info["id"]
    if len(letter_id) > MAX_ID:
        raise RequestError(404, "malformed_id", "id is not a valid dead-letter id", field="id")
    await services(request).dead_letters.replay(actor(request), letter_id)
    return web.Response(status=204)
