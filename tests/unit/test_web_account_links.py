"""The account link routes over HTTP, in process, on memory adapters (bodies checked against the document)."""

from __future__ import annotations

from tests.unit.web_support import API, PASSWORD, web, web_factory  # noqa: F401  (fixtures)

RESET = "user.password_reset_requested"
VERIFY = "user.email_verification_requested"


async def test_the_verification_link_from_sign_up_verifies_once(web):
    profile = await web.register("alice", verify=False)
    assert profile["email_verified"] is False
    token = await web.link_token(VERIFY, profile["email"])
    assert (await web.call("POST", f"{API}/auth/verify-email", json={"token": token})).status == 204
    tokens = await web.login("alice")
    me = await web.ok("GET", f"{API}/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me["email_verified"] is True
    again = await web.call("POST", f"{API}/auth/verify-email", json={"token": token})
    assert (again.status, again.code) == (422, "link_invalid")


async def test_bad_verification_bodies_get_clear_4xx(web):
    for body, status in (({}, 422), ({"token": 5}, 422), ({"token": "x" * 65}, 422), ({"token": "a b"}, 422)):
        assert (await web.call("POST", f"{API}/auth/verify-email", json=body)).status == status
    assert (await web.call("POST", f"{API}/auth/verify-email", data="{nope",
                           headers={"Content-Type": "application/json"})).status == 400


async def test_a_signed_in_user_asks_for_a_new_link_until_verified(web):
    await web.register("bob", verify=False)
    tokens = await web.login("bob")
    bob = {"Authorization": f"Bearer {tokens['access_token']}"}
    seen = len(web.mailed)
    reply = await web.call("POST", f"{API}/auth/verify-email/resend", headers=bob)
    assert (reply.status, reply.body["status"]) == (202, "accepted")
    token = await web.link_token(VERIFY, "bob@example.com", after=seen)
    await web.ok("POST", f"{API}/auth/verify-email", 204, json={"token": token})
    reply = await web.call("POST", f"{API}/auth/verify-email/resend", headers=bob)
    assert (reply.status, reply.code) == (409, "email_already_verified")


async def test_a_reset_request_answers_alike_for_known_and_unknown_addresses(web):
    await web.user("carol")
    known = await web.call("POST", f"{API}/auth/password-reset", json={"email": "carol@example.com"})
    unknown = await web.call("POST", f"{API}/auth/password-reset", json={"email": "nobody@example.com"})
    assert (known.status, known.body) == (unknown.status, unknown.body) == (202, known.body)
    bad = await web.call("POST", f"{API}/auth/password-reset", json={"email": "not an email"})
    assert (bad.status, bad.code) == (422, "invalid_user_data")


async def test_reset_requests_per_address_end_in_429_with_retry_after(web):
    for _ in range(5):
        await web.ok("POST", f"{API}/auth/password-reset", 202, json={"email": "dave@example.com"})
    reply = await web.call("POST", f"{API}/auth/password-reset", json={"email": "dave@example.com"})
    assert (reply.status, reply.code) == (429, "too_many_link_requests")
    assert int(reply.headers["Retry-After"]) > 0


async def test_a_reset_link_sets_a_new_password_and_ends_the_old_sessions(web):
    erin = await web.user("erin")
    seen = len(web.mailed)
    await web.ok("POST", f"{API}/auth/password-reset", 202, json={"email": erin.email})
    token = await web.link_token(RESET, erin.email, after=seen)
    weak = await web.call("POST", f"{API}/auth/password-reset/confirm", json={"token": token, "password": "short"})
    assert (weak.status, weak.code) == (422, "weak_password")
    await web.ok("POST", f"{API}/auth/password-reset/confirm", 204,
                 json={"token": token, "password": "a fresh pass phrase"})
    assert (await web.call("GET", f"{API}/users/me", who=erin)).status == 401
    assert (await web.call("POST", f"{API}/auth/login", json={"username": "erin", "password": PASSWORD})).status == 401
    await web.login("erin", "a fresh pass phrase")
    used = await web.call("POST", f"{API}/auth/password-reset/confirm",
                          json={"token": token, "password": "another fresh phrase"})
    assert (used.status, used.code) == (422, "link_invalid")


async def test_the_link_pages_are_served_with_the_sites_headers(web):
    for page in ("verify-email.html", "reset-password.html", "account.js"):
        async with web.client.get(f"/static/{page}") as resp:
            assert resp.status == 200, page
            assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
            assert resp.headers["Referrer-Policy"] == "no-referrer"
            if page.endswith(".html"):
                assert '<script type="module" src="/static/account.js">' in await resp.text()


async def test_the_reset_answer_does_not_wait_for_the_account_lookup(web):
    """The 202 leaves before the account is looked up, so its timing cannot tell accounts apart."""
    import asyncio

    frank = await web.user("frank")
    links = web.services.links
    real, gate = links.users, asyncio.Event()

    class Held:
        async def find_by_email(self, email):  # type: ignore[no-untyped-def]
            await gate.wait()
            return await real.find_by_email(email)

        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(real, name)

    links.users = Held()
    seen = len(web.mailed)
    try:
        reply = await web.call("POST", f"{API}/auth/password-reset", json={"email": frank.email})
        assert reply.status == 202  # answered while the lookup is still held
    finally:
        gate.set()
        links.users = real
    assert await web.link_token(RESET, frank.email, after=seen)
