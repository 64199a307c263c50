from __future__ import annotations

from aiohttp import web

from domain.shared.ids import UserId
from domain.users import commands as c
from domain.users.model import Role
from runners.web import views
from runners.web.context import principal, services
from runners.web.routing import QueryParam, routes
from runners.web.validation import json_body, page_request, path_id

TAG = "users"
PAGING = (QueryParam(name="offset", schema={"type": "integer", "minimum": 0, "default": 0}),
          QueryParam(name="limit", schema={"type": "integer", "minimum": 1, "maximum": 100, "default": 20}))


@routes.get("/api/v1/users/me", summary="The caller's own profile", tag=TAG, response="User", errors=(401,))
async def me(request: web.Request) -> web.Response:
    user, _ = await services(request).users.get_user(principal(request), principal(request).user_id)
    return web.json_response(views.user_private(user))


@routes.get("/api/v1/users/{id}", summary="A profile (private fields for self and admins)", tag=TAG,
            response="UserView", errors=(401, 404))
async def get_user(request: web.Request) -> web.Response:
    user, private = await services(request).users.get_user(principal(request), UserId(path_id(request)))
    return web.json_response(views.user_private(user) if private else views.user_public(user))


@routes.put("/api/v1/users/{id}", summary="Update a profile (self or admin)", tag=TAG,
            body="UpdateUserRequest", response="User", errors=(400, 401, 403, 404, 409, 413, 415, 422, 429))
async def update_user(request: web.Request) -> web.Response:
    user_id = UserId(path_id(request))
    data = await json_body(request, "UpdateUserRequest")
    user = await services(request).users.update_profile(principal(request), c.UpdateProfile(user_id=user_id, **data))
    return web.json_response(views.user_private(user))


@routes.get("/api/v1/admin/users", summary="List and search users (admin)", tag="admin", response="UserPage",
            query=(QueryParam(name="q", schema={"type": "string", "maxLength": 100},
                              description="substring of username, email or display name"), *PAGING),
            errors=(401, 403, 422))
async def list_users(request: web.Request) -> web.Response:
    query = request.query.get("q", "")[:100]
    found = await services(request).users.list_users(principal(request), query, page_request(request))
    return web.json_response(views.page(found, views.user_private))


@routes.post("/api/v1/admin/users/{id}/ban", summary="Ban a user and revoke their sessions (admin)", tag="admin",
             response="User", errors=(401, 403, 404))
async def ban(request: web.Request) -> web.Response:
    user = await services(request).users.ban(principal(request), UserId(path_id(request)))
    return web.json_response(views.user_private(user))


@routes.post("/api/v1/admin/users/{id}/unban", summary="Lift a ban (admin)", tag="admin", response="User",
             errors=(401, 403, 404))
async def unban(request: web.Request) -> web.Response:
    user = await services(request).users.unban(principal(request), UserId(path_id(request)))
    return web.json_response(views.user_private(user))


@routes.put("/api/v1/admin/users/{id}/role", summary="Change a user's role (admin)", tag="admin",
            body="SetRoleRequest", response="User", errors=(400, 401, 403, 404, 422))
async def set_role(request: web.Request) -> web.Response:
    user_id = UserId(path_id(request))
    data = await json_body(request, "SetRoleRequest")
    user = await services(request).users.set_role(principal(request), c.SetRole(user_id=user_id, role=Role(data["role"])))
    return web.json_response(views.user_private(user))
