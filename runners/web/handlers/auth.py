from __future__ import annotations

from aiohttp import web

from domain.users import commands as c
from runners.web import views
from runners.web.context import client_address, principal, services
from runners.web.routing import routes
from runners.web.validation import json_body

TAG = "auth"
# The client token of domain/users/throttling.py: an HttpOnly cookie only the login route receives,
# so scripts cannot read it and other routes do not carry it.
CLIENT_COOKIE = "confero_client"
CLIENT_COOKIE_PATH = "/api/v1/auth/login"


@routes.post("/api/v1/auth/register", summary="Create an account", tag=TAG, auth=False,
             body="RegisterRequest", status=201, response="User", errors=(400, 409, 413, 415, 422, 429))
async def register(request: web.Request) -> web.Response:
    data = await json_body(request, "RegisterRequest")
    user = await services(request).users.register(c.RegisterUser(
        username=data["username"], email=data["email"], password=data["password"],
        display_name=data.get("display_name"), client_address=client_address(request)))
    return web.json_response(views.user_private(user), status=201)


@routes.post("/api/v1/auth/login", summary="Log in with a username or email", tag=TAG, auth=False,
             body="LoginRequest", response="TokenResponse", errors=(400, 401, 403, 422, 429))
async def login(request: web.Request) -> web.Response:
    data = await json_body(request, "LoginRequest")
    pair, user = await services(request).users.login(c.LogIn(
        login=data["username"], password=data["password"], client_address=client_address(request),
        client_token=request.cookies.get(CLIENT_COOKIE)))
    response = web.json_response(views.tokens(pair, user))
    if pair.client_token:
        limits = services(request).users.limits
        response.set_cookie(CLIENT_COOKIE, pair.client_token, path=CLIENT_COOKIE_PATH, httponly=True,
                            samesite="Strict", secure=request.secure,
                            max_age=int(limits.known_client_ttl.total_seconds()))
    return response


@routes.post("/api/v1/auth/refresh", summary="Rotate a refresh token", tag=TAG, auth=False,
             body="RefreshRequest", response="RefreshResponse", errors=(400, 401, 403, 422))
async def refresh(request: web.Request) -> web.Response:
    data = await json_body(request, "RefreshRequest")
    pair = await services(request).users.refresh(data["refresh_token"])
    return web.json_response(views.tokens(pair))


@routes.post("/api/v1/auth/logout", summary="Revoke this access token and its session", tag=TAG,
             body="LogoutRequest", body_required=False, status=204, errors=(400, 401, 422))
async def logout(request: web.Request) -> web.Response:
    data = await json_body(request, "LogoutRequest", required=False)
    await services(request).users.logout(principal(request), data.get("refresh_token"))
    return web.Response(status=204)
