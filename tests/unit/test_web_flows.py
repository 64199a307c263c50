"""Whole sessions over HTTP through the aiohttp test client, as a browser or a script would drive them."""

from __future__ import annotations

import re

from tests.unit.web_support import API, PASSWORD, WebApi, WebFactory, web, web_factory  # noqa: F401  (fixtures)


async def test_the_scripted_session_from_the_issue(web: WebApi) -> None:
    alice = await web.register("alice", email="alice@example.com", display_name="Alice A.")
    bob = await web.register("bob", email="bob@example.com")
    assert alice["display_name"] == "Alice A." and bob["display_name"] == "bob"
    a = await web.login("alice")
    b = await web.login("BOB@example.com")  # by email, in any case
    assert a["user"]["id"] == alice["id"] and b["user"]["id"] == bob["id"]
    host = {"Authorization": f"Bearer {a['access_token']}"}
    guest = {"Authorization": f"Bearer {b['access_token']}"}

    meeting = await web.ok("POST", f"{API}/meetings", 201, headers=host,
                           json={"title": "Planning", "password": "open sesame", "capacity": 10})
    assert meeting["has_password"] is True and meeting["capacity"] == 10
    assert meeting["host_id"] == alice["id"] and meeting["your_role"] == "host"
    mid = meeting["id"]
    await web.ok("POST", f"{API}/meetings/{mid}/join", headers=host)  # the host needs no password

    wrong = await web.call("POST", f"{API}/meetings/{mid}/join", headers=guest, json={"password": "nope nope"})
    assert (wrong.status, wrong.code) == (403, "wrong_meeting_password")
    missing = await web.call("POST", f"{API}/meetings/{mid}/join", headers=guest)
    assert (missing.status, missing.code) == (403, "password_required")
    joined = await web.ok("POST", f"{API}/meetings/{mid}/join", headers=guest, json={"password": "open sesame"})
    assert joined["joined"] is True and joined["participant_count"] == 2 and joined["status"] == "live"

    people = await web.ok("GET", f"{API}/meetings/{mid}/participants", headers=guest)
    assert {p["user_id"]: p["role"] for p in people["items"]} == {alice["id"]: "host", bob["id"]: "participant"}
    assert people["capacity"] == 10

    kicked = await web.ok("POST", f"{API}/meetings/{mid}/participants/{bob['id']}/kick", headers=host)
    assert kicked["kicked_user_ids"] == [bob["id"]] and kicked["participant_count"] == 1
    again = await web.call("POST", f"{API}/meetings/{mid}/join", headers=guest, json={"password": "open sesame"})
    assert (again.status, again.code) == (403, "kicked_from_meeting")

    out = await web.call("POST", f"{API}/auth/logout", headers=guest, json={"refresh_token": b["refresh_token"]})
    assert out.status == 204
    stale = await web.call("GET", f"{API}/users/me", headers=guest)
    assert (stale.status, stale.code) == (401, "invalid_token")
    dead = await web.call("POST", f"{API}/auth/refresh", json={"refresh_token": b["refresh_token"]})
    assert (dead.status, dead.code) == (401, "invalid_token")
    assert (await web.ok("GET", f"{API}/users/me", headers=host))["username"] == "alice"


async def test_logout_without_a_body_still_ends_the_session(web: WebApi) -> None:
    bob = await web.user("bob")
    assert (await web.call("POST", f"{API}/auth/logout", who=bob)).status == 204
    assert (await web.call("GET", f"{API}/users/me", who=bob)).status == 401
    assert (await web.call("POST", f"{API}/auth/refresh", json={"refresh_token": bob.refresh})).status == 401


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_session(web: WebApi) -> None:
    carol = await web.user("carol")
    first = await web.ok("POST", f"{API}/auth/refresh", json={"refresh_token": carol.refresh})
    assert first["refresh_token"] != carol.refresh and first["token_type"] == "Bearer"
    me = await web.ok("GET", f"{API}/users/me", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert me["id"] == carol.id
    second = await web.ok("POST", f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})

    reused = await web.call("POST", f"{API}/auth/refresh", json={"refresh_token": carol.refresh})
    assert (reused.status, reused.code) == (401, "invalid_token")
    # the theft signal kills the whole family: the newest tokens are dead too
    newest = await web.call("POST", f"{API}/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert newest.status == 401
    stale = await web.call("GET", f"{API}/users/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert (stale.status, stale.code) == (401, "invalid_token")


async def test_an_access_token_is_no_refresh_token_and_vice_versa(web: WebApi) -> None:
    dave = await web.user("dave")
    swapped = await web.call("POST", f"{API}/auth/refresh", json={"refresh_token": dave.access})
    assert (swapped.status, swapped.code) == (401, "invalid_token")
    as_access = await web.call("GET", f"{API}/users/me", headers={"Authorization": f"Bearer {dave.refresh}"})
    assert (as_access.status, as_access.code) == (401, "invalid_token")


async def test_five_failed_logins_throttle_the_account_with_retry_after(web: WebApi) -> None:
    await web.register("erin")
    for _ in range(5):
        failed = await web.call("POST", f"{API}/auth/login", json={"username": "erin", "password": "wrong guess"})
        assert (failed.status, failed.code) == (401, "invalid_credentials")
    throttled = await web.call("POST", f"{API}/auth/login", json={"username": "erin", "password": PASSWORD})
    assert (throttled.status, throttled.code) == (429, "too_many_login_attempts")
    retry_after = int(throttled.headers["Retry-After"])
    assert 0 < retry_after <= web.settings.login_window_seconds
    assert throttled.body["error"]["details"]["retry_after"] == retry_after


async def test_unknown_users_fail_like_wrong_passwords(web: WebApi) -> None:
    await web.register("frank")
    unknown = await web.call("POST", f"{API}/auth/login", json={"username": "nobody", "password": PASSWORD})
    wrong = await web.call("POST", f"{API}/auth/login", json={"username": "frank", "password": "wrong guess"})
    assert (unknown.status, unknown.code, unknown.body["error"]["message"]) == \
        (wrong.status, wrong.code, wrong.body["error"]["message"]) == (401, "invalid_credentials",
                                                                      "invalid username or password")


async def test_a_valid_request_id_is_echoed_and_an_invalid_one_replaced(web: WebApi) -> None:
    mine = "trace-0123456789.abc"
    ok = await web.call("GET", "/health", headers={"X-Request-Id": mine})
    assert ok.status == 200 and ok.headers["X-Request-Id"] == mine
    error = await web.call("GET", f"{API}/users/me", headers={"X-Request-Id": mine})
    assert error.headers["X-Request-Id"] == mine and error.body["error"]["request_id"] == mine

    for bad in ("short", "has spaces in it!", "x" * 65, "semi;colon-123456"):
        reply = await web.call("GET", f"{API}/users/me", headers={"X-Request-Id": bad})
        generated = reply.headers["X-Request-Id"]
        assert generated != bad and re.fullmatch(r"[0-9a-f]{32}", generated)
        assert reply.body["error"]["request_id"] == generated
    none = await web.call("GET", "/health")
    assert re.fullmatch(r"[0-9a-f]{32}", none.headers["X-Request-Id"])


async def test_cors_preflight_answers_allowed_origins_only(web_factory: WebFactory) -> None:
    web = await web_factory(APP_CORS_ORIGINS="https://app.example.com, https://admin.example.com")
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "Authorization"}
    allowed = await web.call("OPTIONS", f"{API}/meetings", headers={"Origin": "https://app.example.com", **preflight})
    assert allowed.status == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    assert "Origin" in allowed.headers["Vary"]

    foreign = await web.call("OPTIONS", f"{API}/meetings", headers={"Origin": "https://evil.example.net", **preflight})
    assert foreign.status >= 400
    assert not [h for h in foreign.headers if h.lower().startswith("access-control-")]

    simple = await web.call("GET", "/health", headers={"Origin": "https://admin.example.com"})
    assert simple.headers["Access-Control-Allow-Origin"] == "https://admin.example.com"
    assert "X-Request-Id" in simple.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in (await web.call("GET", "/health", headers={
        "Origin": "https://evil.example.net"})).headers


async def test_without_configured_origins_no_cors_headers_are_sent(web: WebApi) -> None:
    reply = await web.call("OPTIONS", f"{API}/meetings", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
    assert not [h for h in reply.headers if h.lower().startswith("access-control-")]


async def test_a_banned_users_token_fails_at_once_and_they_cannot_log_in(web: WebApi) -> None:
    admin = await web.admin()
    gina = await web.user("gina")
    assert (await web.call("GET", f"{API}/users/me", who=gina)).status == 200
    banned = await web.ok("POST", f"{API}/admin/users/{gina.id}/ban", who=admin)
    assert banned["banned"] is True
    stale = await web.call("GET", f"{API}/users/me", who=gina)
    assert (stale.status, stale.code) == (401, "invalid_token")
    refresh = await web.call("POST", f"{API}/auth/refresh", json={"refresh_token": gina.refresh})
    assert refresh.status == 401
    login = await web.call("POST", f"{API}/auth/login", json={"username": "gina", "password": PASSWORD})
    assert (login.status, login.code) == (403, "user_banned")

    await web.ok("POST", f"{API}/admin/users/{gina.id}/unban", who=admin)
    assert (await web.login("gina"))["user"]["banned"] is False


async def test_a_role_change_takes_effect_on_the_next_login(web: WebApi) -> None:
    admin = await web.admin()
    hank = await web.user("hank")
    promoted = await web.ok("PUT", f"{API}/admin/users/{hank.id}/role", who=admin, json={"role": "admin"})
    assert promoted["role"] == "admin"
    assert (await web.call("GET", f"{API}/admin/users", who=hank)).status == 401  # old session revoked
    fresh = await web.login("hank")
    page = await web.ok("GET", f"{API}/admin/users", headers={"Authorization": f"Bearer {fresh['access_token']}"})
    assert hank.id in {u["id"] for u in page["items"]}


async def test_changing_the_password_needs_the_current_one_and_ends_every_session(web: WebApi) -> None:
    ivan = await web.user("ivan")
    other_session = await web.login("ivan")
    wrong = await web.call("PUT", f"{API}/users/{ivan.id}", who=ivan,
                           json={"password": "a brand new secret", "current_password": "not my password"})
    assert wrong.status == 401 and wrong.code == "invalid_credentials"
    await web.ok("PUT", f"{API}/users/{ivan.id}", who=ivan,
                 json={"password": "a brand new secret", "current_password": PASSWORD})
    assert (await web.call("GET", f"{API}/users/me", who=ivan)).status == 401
    assert (await web.call("GET", f"{API}/users/me", headers={
        "Authorization": f"Bearer {other_session['access_token']}"})).status == 401
    assert (await web.login("ivan", "a brand new secret"))["user"]["id"] == ivan.id


async def test_profiles_show_private_fields_to_self_and_admins_only(web: WebApi) -> None:
    admin = await web.admin()
    jane, kim = await web.user("jane"), await web.user("kim")
    public = await web.ok("GET", f"{API}/users/{jane.id}", who=kim)
    assert public == {"id": jane.id, "username": "jane", "display_name": "jane"}
    own = await web.ok("GET", f"{API}/users/{jane.id}", who=jane)
    assert own["email"] == "jane@example.com" and own == await web.ok("GET", f"{API}/users/me", who=jane)
    assert (await web.ok("GET", f"{API}/users/{jane.id}", who=admin))["email"] == "jane@example.com"
    renamed = await web.ok("PUT", f"{API}/users/{jane.id}", who=admin, json={"display_name": "  Jane   Doe "})
    assert renamed["display_name"] == "Jane Doe"


async def test_admin_search_pages_through_users(web: WebApi) -> None:
    admin = await web.admin()
    for name in ("zed1", "zed2", "zed3", "yan"):
        await web.register(name)
    hits = await web.users_page(admin, q="zed", limit="2")
    assert hits["total"] == 3 and [u["username"] for u in hits["items"]] == ["zed1", "zed2"]
    rest = await web.users_page(admin, q="ZED", limit="2", offset="2")
    assert [u["username"] for u in rest["items"]] == ["zed3"] and rest["offset"] == 2
    assert (await web.users_page(admin))["total"] == 5  # root + four


async def test_meeting_lists_filter_by_relation_and_time_and_page(web: WebApi) -> None:
    host, guest = await web.user("lena"), await web.user("moe")
    hosted = [await web.meeting(host, title=f"Hosted {i}", start_time=f"2031-01-0{i + 1}T10:00:00Z")
              for i in range(3)]
    invited = await web.meeting(guest, title="Invited", start_time="2031-02-01T10:00:00+01:00")
    await web.ok("POST", f"{API}/meetings/{invited['id']}/invitations", who=guest, json={"user_id": host.id})
    past = await web.meeting(host, title="Past", start_time="2030-06-01T10:00:00Z")
    await web.join(host, past["id"])
    await web.ok("POST", f"{API}/meetings/{past['id']}/end", who=host)
    joined = await web.meeting(guest, title="Joined")
    await web.join(host, joined["id"])
    await web.meeting(guest, title="Unrelated")

    async def titles(**params: str) -> list[str]:
        page = await web.ok("GET", f"{API}/meetings", who=host, params=params)
        return [m["title"] for m in page["items"]]

    assert await titles(relation="hosted") == ["Hosted 0", "Hosted 1", "Hosted 2"]  # upcoming, soonest first
    assert await titles(relation="hosted", when="past") == ["Past"]
    assert await titles(relation="hosted", when="all") == ["Hosted 2", "Hosted 1", "Hosted 0", "Past"]
    assert await titles(relation="invited") == ["Invited"]
    assert await titles(relation="joined") == ["Joined"]
    assert await titles(relation="joined", when="all") == ["Past", "Joined"]  # latest start first (now < 2030)
    assert set(await titles()) == {"Hosted 0", "Hosted 1", "Hosted 2", "Invited", "Joined"}
    assert len(await titles(when="all")) == 6

    first = await web.ok("GET", f"{API}/meetings", who=host, params={"relation": "hosted", "limit": "2"})
    second = await web.ok("GET", f"{API}/meetings", who=host,
                          params={"relation": "hosted", "limit": "2", "offset": "2"})
    assert (first["total"], first["limit"], len(first["items"])) == (3, 2, 2)
    assert [m["id"] for m in first["items"] + second["items"]] == [m["id"] for m in hosted]
    beyond = await web.ok("GET", f"{API}/meetings", who=host, params={"offset": "50"})
    assert beyond["items"] == [] and beyond["total"] == 5
    assert all(m["your_role"] == "host" for m in first["items"])


async def test_a_meeting_lives_from_the_first_join_to_its_end(web: WebApi) -> None:
    host, guest = await web.user("nia"), await web.user("omar")
    meeting = await web.meeting(host, title="Standup", duration_minutes=15, settings={"mute_on_join": True})
    assert meeting["status"] == "scheduled" and meeting["settings"]["mute_on_join"] is True
    mid = meeting["id"]
    live = await web.join(guest, mid)
    assert live["status"] == "live" and live["started_at"] is not None and live["your_role"] == "participant"
    assert "kicked_user_ids" not in live  # the host's lists are not for participants
    left = await web.ok("POST", f"{API}/meetings/{mid}/leave", who=guest)
    assert left["joined"] is False and left["participant_count"] == 0
    not_in = await web.call("POST", f"{API}/meetings/{mid}/leave", who=guest)
    assert (not_in.status, not_in.code) == (409, "not_a_participant")
    ended = await web.ok("POST", f"{API}/meetings/{mid}/end", who=host)
    assert ended["status"] == "ended" and ended["ended_at"] is not None
    late = await web.call("POST", f"{API}/meetings/{mid}/join", who=guest)
    assert (late.status, late.code) == (409, "meeting_ended")


async def test_host_powers_lock_promote_transfer_cancel_and_delete(web: WebApi) -> None:
    host, co, guest = await web.user("pia"), await web.user("quin"), await web.user("rui")
    mid = (await web.meeting(host, capacity=2))["id"]
    promoted = await web.ok("POST", f"{API}/meetings/{mid}/cohosts/{co.id}", who=host)
    assert promoted["co_host_ids"] == [co.id]
    assert (await web.ok("POST", f"{API}/meetings/{mid}/lock", who=co))["locked"] is True
    locked = await web.call("POST", f"{API}/meetings/{mid}/join", who=guest)
    assert (locked.status, locked.code) == (403, "meeting_locked")
    await web.join(co, mid)
    await web.ok("POST", f"{API}/meetings/{mid}/unlock", who=co)
    await web.join(host, mid)
    full = await web.call("POST", f"{API}/meetings/{mid}/join", who=guest)
    assert (full.status, full.code) == (409, "meeting_full")
    assert full.body["error"]["details"] == {"capacity": 2}

    handed = await web.ok("POST", f"{API}/meetings/{mid}/transfer-host", who=host, json={"user_id": co.id})
    assert handed["host_id"] == co.id and handed["co_host_ids"] == [host.id] and handed["your_role"] == "co_host"
    demoted = await web.ok("DELETE", f"{API}/meetings/{mid}/cohosts/{host.id}", who=co)
    assert demoted["co_host_ids"] == []

    later = (await web.meeting(host, title="Later", start_time="2035-05-05T05:05:00Z"))["id"]
    cancelled = await web.ok("POST", f"{API}/meetings/{later}/cancel", who=host)
    assert cancelled["status"] == "cancelled"
    assert (await web.call("DELETE", f"{API}/meetings/{later}", who=host)).status == 204
    gone = await web.call("GET", f"{API}/meetings/{later}", who=host)
    assert (gone.status, gone.code) == (404, "meeting_not_found")


async def test_invite_only_meetings_are_hidden_from_strangers(web: WebApi) -> None:
    host, friend, stranger = await web.user("sam"), await web.user("tia"), await web.user("uma")
    mid = (await web.meeting(host, settings={"invite_only": True}, password="club-pass"))["id"]
    hidden = await web.call("GET", f"{API}/meetings/{mid}", who=stranger)
    assert (hidden.status, hidden.code) == (403, "meeting_hidden")
    refused = await web.call("POST", f"{API}/meetings/{mid}/join", who=stranger, json={"password": "club-pass"})
    assert (refused.status, refused.code) == (403, "invitation_required")
    invited = await web.ok("POST", f"{API}/meetings/{mid}/invitations", who=host, json={"email": "TIA@example.com"})
    # a known address stays an address: the host never learns whose account it is
    assert (invited["invited_user_ids"], invited["invited_emails"]) == ([], ["tia@example.com"])
    later = await web.ok("POST", f"{API}/meetings/{mid}/invitations", who=host, json={"email": "vic@example.com"})
    assert later["invited_emails"] == ["tia@example.com", "vic@example.com"]
    assert (await web.join(friend, mid))["joined"] is True  # invited people need no password
    vic = await web.user("vic")
    assert (await web.get_meeting(vic, mid))["title"] == "Weekly sync"  # invited by address before registering
    assert (await web.join(vic, mid))["joined"] is True


async def test_someone_invited_by_email_sees_their_role_like_someone_invited_by_id(web: WebApi) -> None:
    host, by_id, by_email = await web.user("wes"), await web.user("xia"), await web.user("yuri")
    mid = (await web.meeting(host, settings={"invite_only": True}))["id"]
    await web.ok("POST", f"{API}/meetings/{mid}/invitations", who=host, json={"user_id": by_id.id})
    await web.ok("POST", f"{API}/meetings/{mid}/invitations", who=host, json={"email": "later@example.com"})
    later = await web.user("later")
    assert (await web.get_meeting(by_id, mid))["your_role"] == "participant"
    assert (await web.get_meeting(later, mid))["your_role"] == "participant"
    listed = await web.ok("GET", f"{API}/meetings", who=later, params={"relation": "invited"})
    assert [m["your_role"] for m in listed["items"]] == ["participant"]
    assert by_email.id not in (await web.get_meeting(host, mid))["invited_user_ids"]


async def test_a_host_invites_by_username_and_an_unknown_username_is_a_404(web: WebApi) -> None:
    host, guest = await web.user("hana"), await web.user("ivo")
    mid = (await web.meeting(host, settings={"invite_only": True}))["id"]
    meeting = await web.ok("POST", f"{API}/meetings/{mid}/invitations", who=host, json={"username": "ivo"})
    assert meeting["invited_user_ids"] == [guest.id]
    assert (await web.join(guest, mid))["joined"] is True
    missing = await web.call("POST", f"{API}/meetings/{mid}/invitations", who=host, json={"username": "nobody"})
    assert (missing.status, missing.code) == (404, "user_not_found")
    both = await web.call("POST", f"{API}/meetings/{mid}/invitations", who=host,
                          json={"username": "ivo", "email": "ivo@example.com"})
    assert both.status == 422
