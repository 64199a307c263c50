"""Dead letters for administrators: events a consumer gave up on, and replaying them."""

from __future__ import annotations

from aiohttp import web

from runners.web.context import actor, services
from runners.web.replies import DeadLetterPage, json_reply
from runners.web.routing import Endpoint
from runners.web.validation import PAGING, RequestError, page_request

TAG = "admin"
MAX_ID = 64


async def list_dead_letters(request: web.Request) -> web.Response:
    found = await services(request).dead_letters.list(actor(request), page_request(request))
    return json_reply(DeadLetterPage.of(found))


async def replay_dead_letter(request: web.Request) -> web.Response:
    letter_id = request.match_info["id"]
    if len(letter_id) > MAX_ID:
        raise RequestError(404, "malformed_id", "id is not a valid dead-letter id", field="id")
    await services(request).dead_letters.replay(actor(request), letter_id)
    return web.Response(status=204)


ROUTES = (
    Endpoint.get("/api/v1/admin/dead-letters", list_dead_letters, tag=TAG, response=DeadLetterPage, query=PAGING,
                 summary="Events consumers gave up on, oldest first (admin)", errors=(401, 403, 422)),
    Endpoint.post("/api/v1/admin/dead-letters/{id}/replay", replay_dead_letter, tag=TAG, status=204,
                  errors=(401, 403, 404),
                  summary="Hand a dead letter again to the consumer that failed it, and drop it (admin)"),
)
