"""Login and registration limits over HTTP: the client cookie, 429s with Retry-After."""

from __future__ import annotations

from tests.unit.web_support import API, PASSWORD, WebApi, WebFactory, web, web_factory  # noqa: F401  (fixtures)

LOGIN = f"{API}/auth/login"


async def test_a_login_sets_an_http_only_client_cookie_for_the_login_route_only(web: WebApi) -> None:
    await web.register("gina")
    reply = await web.call("POST", LOGIN, json={"username": "gina", "password": PASSWORD})
    assert reply.status == 200
    cookie = reply.headers["Set-Cookie"]
    assert cookie.startswith("confero_client=")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/api/v1/auth/login", "Max-Age=2592000"):
        assert attribute in cookie
    assert "client_token" not in reply.body


async def test_a_noisy_neighbour_behind_the_same_address_cannot_lock_out_a_known_client(web: WebApi) -> None:
    await web.register("hana")
    first = await web.call("POST", LOGIN, json={"username": "hana", "password": PASSWORD})
    token = first.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    web.client.session.cookie_jar.clear()  # the attacker's requests carry no cookie
    for _ in range(5):
        failed = await web.call("POST", LOGIN, json={"username": "hana", "password": "wrong guess"})
        assert failed.status == 401
    blocked = await web.call("POST", LOGIN, json={"username": "hana", "password": PASSWORD})
    assert (blocked.status, blocked.code) == (429, "too_many_login_attempts")
    owner = await web.call("POST", LOGIN, json={"username": "hana", "password": PASSWORD},
                           headers={"Cookie": f"confero_client={token}"})
    assert owner.status == 200


async def test_registrations_over_the_address_budget_get_429_with_retry_after(web_factory: WebFactory) -> None:
    web = await web_factory(APP_REGISTRATIONS_PER_ADDRESS="2")
    await web.register("ivan")
    await web.register("jana")
    refused = await web.call("POST", f"{API}/auth/register",
                             json={"username": "kato", "email": "kato@example.com", "password": PASSWORD})
    assert (refused.status, refused.code) == (429, "too_many_registrations")
    retry_after = int(refused.headers["Retry-After"])
    assert 0 < retry_after <= 3600 and refused.body["error"]["details"]["retry_after"] == retry_after


async def test_an_email_change_without_the_current_password_is_refused(web: WebApi) -> None:
    lena = await web.user("lena")
    refused = await web.call("PUT", f"{API}/users/{lena.id}", who=lena, json={"email": "invited@example.com"})
    assert (refused.status, refused.code) == (401, "invalid_credentials")
    assert refused.body["error"]["details"] == {"field": "current_password"}
    changed = await web.ok("PUT", f"{API}/users/{lena.id}", who=lena,
                           json={"email": "invited@example.com", "current_password": PASSWORD})
    assert changed["email"] == "invited@example.com"
