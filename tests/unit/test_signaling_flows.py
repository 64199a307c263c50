"""Whole signaling sessions over real WebSockets, in process: rooms, relays, chat, presence, and the
meeting's host actions reaching the sockets.  Every server message is checked against the protocol."""

from __future__ import annotations

import asyncio

from runners.settings import ConfigError, Settings
from tests.unit.signaling_support import (  # noqa: F401  (fixtures)
    Signaling,
    SignalingFactory,
    chat_text,
    signaling,
    signaling_factory,
    web_factory,
)
from tests.unit.web_support import API

MEDIA_ON = {"audio": True, "video": True, "screen": False, "hand": False}


async def test_two_users_join_a_room_and_see_each_other(signaling_factory: SignalingFactory) -> None:
    ice = '[{"urls": ["stun:stun.example.org:3478"]}]'
    s = await signaling_factory(APP_ICE_SERVERS=ice)
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)

    a, first = await s.member(ann, mid)
    assert first["room_id"] == mid and first["members"] == []
    assert first["self"]["user_id"] == ann.id and first["self"]["role"] == "host"
    assert first["self"]["display_name"] == "ann" and first["self"]["media"] == MEDIA_ON
    assert first["ice_servers"] == [{"urls": ["stun:stun.example.org:3478"]}]

    b, second = await s.member(bob, mid)
    assert second["self"]["user_id"] == bob.id and second["self"]["role"] == "participant"
    assert [m["user_id"] for m in second["members"]] == [ann.id]
    assert second["members"][0] == first["self"]

    joined = await a.next("member_joined")
    assert joined["data"] == {"room_id": mid, **second["self"]}
    await b.never("member_joined")
    # joining the room joined the meeting
    assert await s.participants(ann, mid) == {ann.id, bob.id}
    meeting = await s.web.get_meeting(bob, mid)
    assert meeting["joined"] is True and meeting["participant_count"] == 2


async def test_signals_reach_the_addressed_member_only(signaling: Signaling) -> None:
    s = signaling
    ann, bob, cid = await s.web.user("ann"), await s.web.user("bob"), await s.web.user("cid")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)
    c, _ = await s.member(cid, mid)

    assert (await a.request("offer", {"room_id": mid, "to": bob.id, "sdp": "v=0 offer"}))["type"] == "ack"
    offer = await b.next("offer")
    assert offer["data"] == {"room_id": mid, "from": ann.id, "sdp": "v=0 offer"}

    assert (await b.request("answer", {"room_id": mid, "to": ann.id, "sdp": "v=0 answer"}))["type"] == "ack"
    answer = await a.next("answer")
    assert answer["data"] == {"room_id": mid, "from": bob.id, "sdp": "v=0 answer"}

    candidate = {"candidate": "candidate:1 1 UDP 2122252543 192.0.2.1 54321 typ host", "sdpMid": "0",
                 "sdpMLineIndex": 0}
    assert (await a.request("ice_candidate", {"room_id": mid, "to": bob.id, "candidate": candidate}))["type"] == "ack"
    ice = await b.next("ice_candidate")
    assert ice["data"] == {"room_id": mid, "from": ann.id, "candidate": candidate}

    for kind in ("offer", "answer", "ice_candidate"):
        await c.never(kind)
    await a.never("offer")
    await b.never("answer")


async def test_a_signal_to_someone_outside_the_room_is_an_error(signaling: Signaling) -> None:
    s = signaling
    ann, bob, eve = await s.web.user("ann"), await s.web.user("bob"), await s.web.user("eve")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)
    outsider = await s.connect(eve)  # connected, but not in this room

    reply = await a.request("offer", {"room_id": mid, "to": eve.id, "sdp": "v=0"})
    assert reply["type"] == "error" and reply["data"]["code"] == "peer_not_in_room"
    to_self = await a.request("offer", {"room_id": mid, "to": ann.id, "sdp": "v=0"})
    assert to_self["type"] == "error" and to_self["data"]["code"] == "peer_not_in_room"
    await outsider.never("offer")
    await b.never("offer")
    await a.alive()


async def test_media_state_goes_to_the_others_and_into_later_room_states(signaling: Signaling) -> None:
    s = signaling
    ann, bob, cid = await s.web.user("ann"), await s.web.user("bob"), await s.web.user("cid")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)

    muted = {"audio": False, "video": True, "screen": True}
    assert (await a.request("media_state", {"room_id": mid, **muted}))["type"] == "ack"
    seen = await b.next("media_state")
    assert seen["data"] == {"room_id": mid, "user_id": ann.id, **muted, "hand": False}
    await a.never("media_state")

    _, state = await s.member(cid, mid)
    assert {m["user_id"]: m["media"] for m in state["members"]} == {ann.id: {**muted, "hand": False},
                                                                     bob.id: MEDIA_ON}


async def test_a_raised_hand_reaches_the_others_stays_up_through_mute_and_comes_down(signaling: Signaling) -> None:
    s = signaling
    ann, bob, cid = await s.web.user("ann"), await s.web.user("bob"), await s.web.user("cid")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)

    assert (await b.request("raise_hand", {"room_id": mid, "raised": True}))["type"] == "ack"
    assert (await a.next("media_state"))["data"] == {"room_id": mid, "user_id": bob.id, **MEDIA_ON, "hand": True}
    await b.request("media_state", {"room_id": mid, "audio": False, "video": True, "screen": False})
    assert (await a.next("media_state"))["data"]["hand"] is True  # muting does not lower the hand
    _, state = await s.member(cid, mid)
    assert next(m for m in state["members"] if m["user_id"] == bob.id)["media"] == {
        "audio": False, "video": True, "screen": False, "hand": True}

    await b.request("raise_hand", {"room_id": mid, "raised": False})
    assert (await a.next("media_state"))["data"]["hand"] is False
    await b.never("media_state")


async def test_chat_reaches_everyone_including_the_sender_with_one_message_id(signaling: Signaling) -> None:
    s = signaling
    ann, bob, cid = await s.web.user("ann"), await s.web.user("bob"), await s.web.user("cid")
    mid = await s.meeting(ann)
    clients = [(await s.member(u, mid))[0] for u in (ann, bob, cid)]

    ack = await clients[1].request("chat", {"room_id": mid, "text": "  hello, room  "})
    assert ack["type"] == "ack"
    received = [await c.next("chat") for c in clients]
    ids = {m["data"]["message_id"] for m in received}
    assert ids == {ack["data"]["message_id"]}
    for m in received:
        assert m["data"]["from"] == bob.id and m["data"]["display_name"] == "bob"
        assert m["data"]["text"] == "hello, room" and m["data"]["sent_at"] == ack["data"]["sent_at"]


async def test_leaving_the_room_tells_the_others_and_leaves_the_meeting(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)
    assert await s.participants(ann, mid) == {ann.id, bob.id}

    assert (await b.request("leave_room", {"room_id": mid}))["type"] == "ack"
    left = await a.next("member_left")
    assert left["data"] == {"room_id": mid, "user_id": bob.id, "reason": "left"}
    assert await s.participants(ann, mid) == {ann.id}
    # no longer in the room: the socket is, though, still usable
    after = await b.request("chat", {"room_id": mid, "text": "still here?"})
    assert after["type"] == "error" and after["data"]["code"] == "not_in_room"
    await a.never("chat")
    await b.alive()


async def test_a_closed_socket_is_reaped_after_the_grace_period(signaling_factory: SignalingFactory) -> None:
    s = await signaling_factory(APP_SIGNALING_GRACE="1")
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)

    await b.close()
    loop = asyncio.get_running_loop()
    closed_at = loop.time()
    left = await a.next("member_left", timeout=5)
    assert loop.time() - closed_at >= 0.9  # not before the grace period ran out
    assert left["data"] == {"room_id": mid, "user_id": bob.id, "reason": "disconnected"}
    assert await s.participants(ann, mid) == {ann.id}


async def test_reconnecting_within_the_grace_period_is_invisible_to_the_others(
        signaling_factory: SignalingFactory) -> None:
    s = await signaling_factory(APP_SIGNALING_GRACE="1")
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, first = await s.member(bob, mid)
    await a.next("member_joined")
    muted = {"audio": False, "video": False, "screen": False}
    assert (await b.request("media_state", {"room_id": mid, **muted}))["type"] == "ack"
    await a.next("media_state")

    await b.close()
    await asyncio.sleep(0.1)
    again, state = await s.member(bob, mid)
    assert state["self"]["media"] == {**muted, "hand": False}
    assert state["self"]["joined_at"] == first["self"]["joined_at"]
    assert [m["user_id"] for m in state["members"]] == [ann.id]

    await a.never(lambda m: m["type"] in ("member_left", "member_joined"), within=1.5)  # past the grace
    await again.never("session_replaced", within=0.05)
    assert await s.participants(ann, mid) == {ann.id, bob.id}
    assert (await a.request("offer", {"room_id": mid, "to": bob.id, "sdp": "v=0"}))["type"] == "ack"
    assert (await again.next("offer"))["data"]["from"] == ann.id


async def test_a_second_connection_of_the_same_user_takes_over(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    old, _ = await s.member(bob, mid)
    await a.next("member_joined")

    new, state = await s.member(bob, mid)
    replaced = await old.next("session_replaced")
    assert replaced["data"] == {"room_id": mid}
    assert await old.closed() == 4002
    assert [m["user_id"] for m in state["members"]] == [ann.id]

    await a.never(lambda m: m["type"] in ("member_left", "member_joined"))
    await new.never("session_replaced", within=0.05)
    assert (await a.request("offer", {"room_id": mid, "to": bob.id, "sdp": "v=0"}))["type"] == "ack"
    assert (await new.next("offer"))["data"]["from"] == ann.id
    assert (await new.request("chat", {"room_id": mid, "text": "from the new tab"}))["type"] == "ack"
    assert chat_text(await a.next("chat")) == "from the new tab"


async def test_a_kick_through_the_api_closes_the_socket_and_tells_the_others(signaling: Signaling) -> None:
    s = signaling
    ann, bob, cid = await s.web.user("ann"), await s.web.user("bob"), await s.web.user("cid")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)
    c, _ = await s.member(cid, mid)

    await s.host_action(ann, f"{mid}/participants/{bob.id}/kick")
    kicked = await b.next("kicked")
    assert kicked["data"] == {"room_id": mid, "by": ann.id}
    assert await b.closed() == 4001
    for other in (a, c):
        left = await other.next("member_left")
        assert left["data"] == {"room_id": mid, "user_id": bob.id, "reason": "kicked"}
        await other.never("kicked", within=0.05)
    await a.never("member_left", within=0.1)  # told once
    assert await s.participants(ann, mid) == {ann.id, cid.id}


async def test_ending_the_meeting_closes_the_room_for_everyone(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)

    await s.host_action(ann, f"{mid}/end")
    for c in (a, b):
        closed = await c.next("room_closed")
        assert closed["data"] == {"room_id": mid, "reason": "ended"}
    for c in (a, b):
        reply = await c.request("chat", {"room_id": mid, "text": "anyone?"})
        assert reply["type"] == "error" and reply["data"]["code"] == "not_in_room"
        await c.alive()


async def test_locking_and_unlocking_update_the_room(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)

    await s.host_action(ann, f"{mid}/lock")
    for c in (a, b):
        assert (await c.next("room_updated"))["data"] == {"room_id": mid, "locked": True}
    await s.host_action(ann, f"{mid}/unlock")
    for c in (a, b):
        assert (await c.next("room_updated"))["data"] == {"room_id": mid, "locked": False}


async def test_promotion_and_demotion_change_roles_in_the_room(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)

    await s.host_action(ann, f"{mid}/cohosts/{bob.id}")
    for c in (a, b):
        assert (await c.next("role_changed"))["data"] == {"room_id": mid, "user_id": bob.id, "role": "co_host"}
    await s.host_action(ann, f"{mid}/cohosts/{bob.id}", method="DELETE")
    for c in (a, b):
        assert (await c.next("role_changed"))["data"] == {"room_id": mid, "user_id": bob.id, "role": "participant"}


async def test_transferring_the_host_changes_both_roles(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)

    await s.host_action(ann, f"{mid}/transfer-host", json={"user_id": bob.id})
    for c in (a, b):
        roles = {}
        for _ in range(2):
            change = (await c.next("role_changed"))["data"]
            roles[change["user_id"]] = change["role"]
        assert roles == {ann.id: "co_host", bob.id: "host"}
    carol = await s.web.user("carol")
    _, state = await s.member(carol, mid)
    assert {m["user_id"]: m["role"] for m in state["members"]} == {ann.id: "co_host", bob.id: "host"}


async def test_leaving_through_the_api_removes_the_socket_from_the_room(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)

    await s.web.ok("POST", f"{API}/meetings/{mid}/leave", who=bob)
    removed = await b.next("removed")
    assert removed["data"] == {"room_id": mid, "reason": "left"}
    left = await a.next("member_left")
    assert left["data"] == {"room_id": mid, "user_id": bob.id, "reason": "left"}
    assert await s.participants(ann, mid) == {ann.id}
    reply = await b.request("chat", {"room_id": mid, "text": "hello?"})
    assert reply["type"] == "error" and reply["data"]["code"] == "not_in_room"
    await a.never("chat")


async def test_two_rooms_are_isolated(signaling: Signaling) -> None:
    s = signaling
    ann, bob, cid, dan = [await s.web.user(n) for n in ("ann", "bob", "cid", "dan")]
    first, second = await s.meeting(ann), await s.meeting(cid)
    a, _ = await s.member(ann, first)
    b, _ = await s.member(bob, first)
    c, state = await s.member(cid, second)
    d, _ = await s.member(dan, second)
    assert state["members"] == []
    await c.next("member_joined")

    await a.request("chat", {"room_id": first, "text": "first room"})
    await a.request("media_state", {"room_id": first, "audio": False, "video": False, "screen": False})
    await a.request("offer", {"room_id": first, "to": bob.id, "sdp": "v=0"})
    assert chat_text(await b.next("chat")) == "first room"
    await c.request("chat", {"room_id": second, "text": "second room"})
    assert chat_text(await d.next("chat")) == "second room"
    crossing = await c.request("offer", {"room_id": second, "to": ann.id, "sdp": "v=0"})
    assert crossing["data"]["code"] == "peer_not_in_room"
    wrong_room = await c.request("chat", {"room_id": first, "text": "sneaking in"})
    assert wrong_room["data"]["code"] == "not_in_room"

    await b.request("leave_room", {"room_id": first})
    for client, room in ((c, first), (d, first), (a, second), (b, second)):
        await client.never(lambda m, room=room: m["data"].get("room_id") == room, within=0.1)
    assert [m["data"]["text"] for m in a.inbox if m["type"] == "chat"] == ["first room"]
    assert [m["data"]["text"] for m in c.inbox if m["type"] == "chat"] == ["second room"]


async def test_joining_the_same_room_twice_on_one_socket_changes_nothing_for_the_others(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, first = await s.member(bob, mid)
    await a.next("member_joined")

    again = await b.request("join_room", {"room_id": mid})
    assert again["type"] == "room_state" and again["data"]["self"] == first["self"]
    await a.never(lambda m: m["type"] in ("member_left", "member_joined"))
    await b.never("session_replaced", within=0.05)
    assert (await a.request("chat", {"room_id": mid, "text": "once"}))["type"] == "ack"
    assert chat_text(await b.next("chat")) == "once"
    await b.never("chat", within=0.1)  # delivered once, not once per join


async def test_a_member_who_reconnects_gets_back_into_a_locked_meeting(signaling_factory: SignalingFactory) -> None:
    s = await signaling_factory(APP_SIGNALING_GRACE="2")
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)
    await a.next("member_joined")
    await s.host_action(ann, f"{mid}/lock")
    await b.next("room_updated")

    await b.close()
    again, state = await s.member(bob, mid)
    assert state["self"]["user_id"] == bob.id
    await a.never(lambda m: m["type"] in ("member_left", "member_joined"))


async def test_a_connected_member_outlives_the_shortest_allowed_member_ttl(
        signaling_factory: SignalingFactory) -> None:
    """Heartbeats must renew a member before its TTL runs out, whatever TTL the settings accept."""
    ttl = min(t for t in range(1, 601) if accepts_member_ttl(t))
    s = await signaling_factory(APP_SIGNALING_MEMBER_TTL=str(ttl))
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)
    await a.next("member_joined")

    await a.never(lambda m: m["type"] in ("member_left", "removed"), within=ttl + 0.5)
    await b.never(lambda m: m["type"] in ("member_left", "removed"), within=0.01)
    assert await s.participants(ann, mid) == {ann.id, bob.id}
    assert (await b.request("chat", {"room_id": mid, "text": "still connected"}))["type"] == "ack"
    assert chat_text(await a.next("chat")) == "still connected"


def accepts_member_ttl(seconds: int) -> bool:
    try:
        Settings.from_env({"APP_SIGNALING_MEMBER_TTL": str(seconds)})
    except ConfigError:
        return False
    return True


async def test_deleting_the_meeting_closes_the_room(signaling: Signaling) -> None:
    s = signaling
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)

    await s.web.ok("DELETE", f"{API}/meetings/{mid}", 204, who=ann)
    for c in (a, b):
        assert (await c.next("room_closed"))["data"] == {"room_id": mid, "reason": "deleted"}
        await c.alive()
