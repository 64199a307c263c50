from __future__ import annotations

from aiohttp import web

from runners.web.bodies import LoginRequest, LogoutRequest, RefreshRequest, RegisterRequest
from runners.web.context import client_address, principal, services
from runners.web.replies import RefreshResponse, TokenResponse, User, json_reply
from runners.web.routing import Endpoint
from runners.web.validation import parse_body

TAG = "auth"
# The client token of domain/users/throttling.py: an HttpOnly cookie only the login route receives,
# so scripts cannot read it and other routes do not carry it.
CLIENT_COOKIE = "confero_client"
CLIENT_COOKIE_PATH = "/api/v1/auth/login"


async def register(request: web.Request) -> web.Response:
    body = await parse_body(request, RegisterRequest)
    user = await services(request).users.register(body.command(client_address(request)))
    return json_reply(User.of(user), status=201)


async def login(request: web.Request) -> web.Response:
    body = await parse_body(request, LoginRequest)
    pair, user = await services(request).users.login(
        body.command(client_address(request), request.cookies.get(CLIENT_COOKIE)))
    response = json_reply(TokenResponse.of_login(pair, user))
    if pair.client_token:
        limits = services(request).users.limits
        response.set_cookie(CLIENT_COOKIE, pair.client_token, path=CLIENT_COOKIE_PATH, httponly=True,
                            samesite="Strict", secure=request.secure,
                            max_age=int(limits.known_client_ttl.total_seconds()))
    return response


async def refresh(request: web.Request) -> web.Response:
    body = await parse_body(request, RefreshRequest)
    return json_reply(RefreshResponse.of(await services(request).users.refresh(body.refresh_token)))


async def logout(request: web.Request) -> web.Response:
    body = await parse_body(request, LogoutRequest, required=False)
    await services(request).users.logout(principal(request), body.refresh_token)
    return web.Response(status=204)


ROUTES = (
    Endpoint.post("/api/v1/auth/register", register, summary="Create an account", tag=TAG, auth=False,
                  body=RegisterRequest, status=201, response=User, errors=(400, 409, 413, 415, 422, 429)),
    Endpoint.post("/api/v1/auth/login", login, summary="Log in with a username or email", tag=TAG, auth=False,
                  body=LoginRequest, response=TokenResponse, errors=(400, 401, 403, 422, 429)),
    Endpoint.post("/api/v1/auth/refresh", refresh, summary="Rotate a refresh token", tag=TAG, auth=False,
                  body=RefreshRequest, response=RefreshResponse, errors=(400, 401, 403, 422)),
    Endpoint.post("/api/v1/auth/logout", logout, summary="Revoke this access token and its session", tag=TAG,
                  body=LogoutRequest, body_required=False, status=204, errors=(400, 401, 422)),
)
