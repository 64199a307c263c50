from __future__ import annotations

from aiohttp import web

from domain.shared.ids import UserId
from runners.web.bodies import SetRoleRequest, UpdateUserRequest
from runners.web.context import principal, services
from runners.web.replies import PublicUser, User, UserPage, json_reply
from runners.web.routing import Endpoint, QueryParam
from runners.web.validation import PAGING, page_request, parse_body, path_id

TAG = "users"


async def me(request: web.Request) -> web.Response:
    user, _ = await services(request).users.get_user(principal(request), principal(request).user_id)
    return json_reply(User.of(user))


async def get_user(request: web.Request) -> web.Response:
    user, private = await services(request).users.get_user(principal(request), UserId(path_id(request)))
    return json_reply(User.of(user) if private else PublicUser.of(user))


async def update_user(request: web.Request) -> web.Response:
    user_id = UserId(path_id(request))
    body = await parse_body(request, UpdateUserRequest)
    return json_reply(User.of(await services(request).users.update_profile(principal(request), body.command(user_id))))


async def list_users(request: web.Request) -> web.Response:
    query = request.query.get("q", "")[:100]
    found = await services(request).users.list_users(principal(request), query, page_request(request))
    return json_reply(UserPage.of(found))


async def ban(request: web.Request) -> web.Response:
    return json_reply(User.of(await services(request).users.ban(principal(request), UserId(path_id(request)))))


async def unban(request: web.Request) -> web.Response:
    return json_reply(User.of(await services(request).users.unban(principal(request), UserId(path_id(request)))))


async def set_role(request: web.Request) -> web.Response:
    user_id = UserId(path_id(request))
    body = await parse_body(request, SetRoleRequest)
    return json_reply(User.of(await services(request).users.set_role(principal(request), body.command(user_id))))


ROUTES = (
    Endpoint.get("/api/v1/users/me", me, summary="The caller's own profile", tag=TAG, response=User, errors=(401,)),
    Endpoint.get("/api/v1/users/{id}", get_user, summary="A profile (private fields for self and admins)", tag=TAG,
                 response="UserView", errors=(401, 404)),
    Endpoint.put("/api/v1/users/{id}", update_user, summary="Update a profile (self or admin)", tag=TAG,
                 body=UpdateUserRequest, response=User, errors=(400, 401, 403, 404, 409, 413, 415, 422, 429)),
    Endpoint.get("/api/v1/admin/users", list_users, summary="List and search users (admin)", tag="admin",
                 response=UserPage, errors=(401, 403, 422),
                 query=(QueryParam(name="q", schema={"type": "string", "maxLength": 100},
                                   description="substring of username, email or display name"), *PAGING)),
    Endpoint.post("/api/v1/admin/users/{id}/ban", ban, summary="Ban a user and revoke their sessions (admin)",
                  tag="admin", response=User, errors=(401, 403, 404)),
    Endpoint.post("/api/v1/admin/users/{id}/unban", unban, summary="Lift a ban (admin)", tag="admin",
                  response=User, errors=(401, 403, 404)),
    Endpoint.put("/api/v1/admin/users/{id}/role", set_role, summary="Change a user's role (admin)", tag="admin",
                 body=SetRoleRequest, response=User, errors=(400, 401, 403, 404, 422)),
)
