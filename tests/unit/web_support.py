"""Shared builders for the HTTP runner tests: the real app, composed on memory adapters, in process.

``web`` is a ready application (fast hashing, a bootstrapped admin); ``web_factory`` makes more, with
extra ``APP_*`` settings.  Every JSON body the helpers receive is checked against the schema that the
served OpenAPI document gives for that operation and status, so each test doubles as a contract test.

Import the fixtures explicitly in a test module:
``from tests.unit.web_support import web, web_factory  # noqa: F401  (fixtures)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web as aioweb
from aiohttp.test_utils import TestClient
from attrs import define, field, frozen
from multidict import CIMultiDictProxy

from runners.containers import resolve
from runners.serve import composed
from runners.settings import Settings
from runners.web.app import create_app
from runners.web.context import OPENAPI, Services
from runners.web.validation import check
from tests.support.fake_inference import FakeInferenceEngine

PASSWORD = "correct horse battery staple"
ADMIN = {"username": "root", "email": "root@example.com", "password": "root admin pass phrase"}
BASE_ENV = {
    "APP_FAST_PASSWORD_HASHING": "true",
    "APP_JWT_SECRET": "web-test-secret-that-is-long-enough-0123456789",
    "APP_LOG_FORMAT": "text",
    "APP_ADMIN_USERNAME": ADMIN["username"],
    "APP_ADMIN_EMAIL": ADMIN["email"],
    "APP_ADMIN_PASSWORD": ADMIN["password"],
    # Emails of the embedded mode go to files: keep them out of the working tree.
    "APP_MAIL_DIR": tempfile.mkdtemp(prefix="confero-test-mail-"),
}
API = "/api/v1"
_MISSING: Any = object()
_PARAM = re.compile(r"{\w+}")


def web_settings(**env: str) -> Settings:
    return Settings.from_env(BASE_ENV | env)


# -- the document as an oracle for response bodies ---------------------------------------------------

def operation_for(doc: dict[str, Any], method: str, path: str) -> dict[str, Any] | None:
    """The documented operation serving ``method path`` (literal segments beat parameters)."""
    path = path.split("?", 1)[0]
    matches = [t for t in doc["paths"] if re.fullmatch(_PARAM.sub("[^/]+", t), path)]
    for template in sorted(matches, key=lambda t: len(_PARAM.findall(t))):
        op = doc["paths"][template].get(method.lower())
        if op is not None:
            return op
    return None


def documented_schema(doc: dict[str, Any], method: str, path: str, status: int) -> str | None:
    """The component name the document promises for this response; None when it promises no body."""
    op = operation_for(doc, method, path)
    if op is None:
        assert status in (404, 405), f"{method} {path} is not documented but answered {status}"
        return "Error"
    response = op["responses"].get(str(status))
    if response is None:
        assert status >= 400, f"{method} {path}: status {status} is not documented"
        return "Error"
    content = response.get("content", {}).get("application/json")
    if content is None:
        return None
    return content["schema"]["$ref"].rsplit("/", 1)[-1]


def assert_matches_document(doc: dict[str, Any], method: str, path: str, status: int, body: Any) -> None:
    name = documented_schema(doc, method, path, status)
    if name is not None:
        problems = check(name, body, doc)
        assert not problems, f"{method} {path} -> {status}: body breaks {name}: {problems}\n{body}"


# -- callers and replies -------------------------------------------------------------------------------

@define
class Caller:
    """A signed-in user as a client sees it: its profile and its current token pair."""

    id: str
    username: str
    email: str
    password: str
    access: str
    refresh: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


@frozen
class Reply:
    status: int
    body: Any
    headers: CIMultiDictProxy[str]

    @property
    def code(self) -> str | None:
        return self.body["error"]["code"] if isinstance(self.body, dict) and "error" in self.body else None


@define
class WebApi:
    client: TestClient
    app: aioweb.Application
    settings: Settings
    services: Services
    _counter: int = 0
    mailed: list[Any] = field(factory=list)  # every event the relay published (the links' tokens inside)

    async def call(self, method: str, path: str, *, who: Caller | None = None, json: Any = _MISSING,
                   data: bytes | str | None = None, headers: dict[str, str] | None = None,
                   params: dict[str, str] | None = None) -> Reply:
        """One request; a JSON reply is checked against the document before it is returned."""
        hdrs = dict(who.auth if who is not None else {}) | (headers or {})
        kw: dict[str, Any] = {"headers": hdrs}
        if json is not _MISSING:
            kw["json"] = json
        if data is not None:
            kw["data"] = data
        if params is not None:
            kw["params"] = params
        async with self.client.request(method, path, **kw) as resp:
            raw = await resp.read()
            body: Any = None
            if resp.content_type == "application/json":
                body = await resp.json()
                assert_matches_document(self.app[OPENAPI], method, path, resp.status, body)
            elif raw:
                body = raw.decode(errors="replace")
            return Reply(resp.status, body, resp.headers)

    async def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        reply = await self.call(method, path, **kw)
        assert reply.status == status, f"{method} {path}: {reply.status} {reply.body}"
        return reply.body

    # -- users -------------------------------------------------------------------------------------

    def fresh_name(self, stem: str = "user") -> str:
        self._counter += 1
        return f"{stem}{self._counter}"

    async def register(self, username: str, *, email: str | None = None, password: str = PASSWORD,
                       display_name: str | None = None, verify: bool = True) -> dict[str, Any]:
        """Signs up, and follows the verification link (as its owner would) unless ``verify=False``."""
        body = {"username": username, "email": email or f"{username}@example.com", "password": password}
        if display_name is not None:
            body["display_name"] = display_name
        profile = await self.ok("POST", f"{API}/auth/register", 201, json=body)
        if verify:
            token = await self.link_token("user.email_verification_requested", profile["email"])
            await self.ok("POST", f"{API}/auth/verify-email", 204, json={"token": token})
        return profile

    async def link_token(self, event_name: str, email: str, *, after: int = 0) -> str:
        """The token of the newest link event for ``email`` among published events from index ``after``
        on, once the relay has published it (the relay runs in the background)."""
        for _ in range(500):
            found = [e for e in self.mailed[after:] if e.name == event_name and e.email == email]
            if found:
                return found[-1].token
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {event_name} for {email} was published")

    async def login(self, login: str, password: str = PASSWORD) -> dict[str, Any]:
        return await self.ok("POST", f"{API}/auth/login", json={"username": login, "password": password})

    async def user(self, username: str | None = None, *, password: str = PASSWORD) -> Caller:
        """Registers and logs in a new user."""
        username = username or self.fresh_name()
        profile = await self.register(username, password=password)
        tokens = await self.login(username, password)
        return Caller(profile["id"], username, profile["email"], password, tokens["access_token"],
                      tokens["refresh_token"])

    async def admin(self) -> Caller:
        """Logs in the administrator that start-up created from APP_ADMIN_*."""
        tokens = await self.login(ADMIN["username"], ADMIN["password"])
        assert tokens["user"]["role"] == "admin"
        return Caller(tokens["user"]["id"], ADMIN["username"], ADMIN["email"], ADMIN["password"],
                      tokens["access_token"], tokens["refresh_token"])

    async def users_page(self, admin: Caller, **params: str) -> dict[str, Any]:
        return await self.ok("GET", f"{API}/admin/users", who=admin, params={"limit": "100", **params})

    async def user_count(self, admin: Caller) -> int:
        return (await self.users_page(admin))["total"]

    # -- meetings ----------------------------------------------------------------------------------

    async def meeting(self, host: Caller, **fields: Any) -> dict[str, Any]:
        body = {"title": "Weekly sync"} | fields
        return await self.ok("POST", f"{API}/meetings", 201, who=host, json=body)

    async def get_meeting(self, who: Caller, meeting_id: str) -> dict[str, Any]:
        return await self.ok("GET", f"{API}/meetings/{meeting_id}", who=who)

    async def join(self, who: Caller, meeting_id: str, password: str | None = None) -> dict[str, Any]:
        body = {"password": password} if password is not None else {}
        return await self.ok("POST", f"{API}/meetings/{meeting_id}/join", who=who, json=body)


WebFactory = Callable[..., Awaitable[WebApi]]


async def with_mailbox(api: WebApi, container: Any) -> WebApi:
    """Lets ``api`` see what the relay publishes (``mailed``): the links' tokens, as the notification
    service would receive them (memory event bus only)."""
    bus = await resolve(container.adapters.events)
    if hasattr(bus, "subscribe"):
        async def capture(event: Any) -> None:
            api.mailed.append(event)
        bus.subscribe(capture, name="test-mailbox")
    return api


@pytest.fixture
async def web_factory(aiohttp_client: Any) -> AsyncIterator[WebFactory]:
    """Makes applications with extra APP_* settings, each on its own fresh memory adapters."""
    async with contextlib.AsyncExitStack() as stack:
        async def make(**env: str) -> WebApi:
            settings = web_settings(**env)
            # The fake engine: the routes' tests are about the API, not the models (tests/support/fake_inference.py).
            container, services = await stack.enter_async_context(composed(settings, engine=FakeInferenceEngine()))
            app = create_app(services, settings)
            return await with_mailbox(WebApi(await aiohttp_client(app), app, settings, services), container)

        yield make


@pytest.fixture
async def web(web_factory: WebFactory) -> WebApi:
    return await web_factory()
