"""GET /ws/signaling: upgrade, authenticate, then translate frames into room commands."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from domain.rooms.media import SFU_PEER_ID
from domain.rooms.model import IceCandidate, MediaState, SignalKind
from domain.shared.errors import DomainError
from domain.shared.ids import MeetingId, UserId
from domain.users.errors import InvalidToken
from domain.users.tokens import Principal
from runners.signaling.connection import CLOSE_CODES, Connection, TokenBucket, frame
from runners.signaling.context import HUB, ROOMS
from runners.signaling.frames import member_view
from runners.shapes import iso
from runners.signaling.ice import ice_servers_for
from runners.signaling.protocol import VERSION, ProtocolError, parse
from runners.app_state import REQUEST_ID, SERVICES, SETTINGS, bearer_token, error_response
from runners.observability.signaling import SIGNALING_RATE_LIMITED, SIGNALING_RECEIVED, message_span

log = logging.getLogger(__name__)
Command = Callable[[web.Application, Connection, str | None, dict[str, Any]], Awaitable[None]]
HEARTBEAT_SECONDS = 5


def heartbeat_seconds(settings: Any) -> int:
    """Renew membership at least three times per member TTL, so a live member is never reaped."""
    return max(1, min(HEARTBEAT_SECONDS, settings.member_ttl_seconds // 3))


def origin_allowed(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: nothing to forge
    allowed = request.app[SETTINGS].ws_origins
    same_origin = origin in (f"http://{request.host}", f"https://{request.host}")
    return same_origin or origin in allowed or "*" in allowed


async def authenticate_frame(ws: web.WebSocketResponse, app: web.Application) -> tuple[Principal, str] | None:
    """Waits for the first frame, which must be {"v":1,"type":"auth","data":{"token":...}}.  On failure
    the socket is closed: 4401 with an error frame for a refused token, 1008 for anything else."""
    try:
        msg = await asyncio.wait_for(ws.receive(), app[SETTINGS].ws_auth_timeout)
    except TimeoutError:
        await ws.close(code=1008, message=b"authenticate first: send an auth frame within the timeout")
        return None
    try:
        kind, re, data = parse(msg.data) if msg.type == WSMsgType.TEXT else ("", None, {})
    except ProtocolError:
        kind = ""
    if kind != "auth":
        await ws.close(code=1008, message=b"the first frame must be an auth frame")
        return None
    try:
        return await app[SERVICES].authenticator.authenticate(data["token"]), data["token"]
    except DomainError as err:
        await ws.send_str(frame("error", {"code": err.code, "message": err.message, "details": {}}, re))
        await ws.close(code=CLOSE_CODES["unauthenticated"], message=b"token refused")
        return None


async def signaling(request: web.Request) -> web.StreamResponse:
    app = request.app
    settings = app[SETTINGS]
    if not origin_allowed(request):
        return error_response(403, "origin_not_allowed", "this origin may not open signaling sockets",
                              request.get(REQUEST_ID))
    credentials = None
    token = bearer_token(request)
    if token is not None:
        try:
            credentials = (await app[SERVICES].authenticator.authenticate(token), token)
        except InvalidToken as err:
            return error_response(401, err.code, err.message, request.get(REQUEST_ID))
    ws = web.WebSocketResponse(max_msg_size=settings.ws_max_frame_bytes, heartbeat=20, autoping=True)
    await ws.prepare(request)
    if credentials is None:
        credentials = await authenticate_frame(ws, app)
        if credentials is None:
            return ws
    principal, token = credentials
    hub, socket_id = app[HUB], uuid.uuid4().hex
    limit = settings.ws_max_sockets_per_user
    try:  # counted across processes, atomically
        allowed = await app[ROOMS].open_socket(principal.user_id, socket_id, limit)
    except DomainError:
        allowed = hub.sockets_of(principal.user_id) < limit  # the shared count is unreachable: ours
    if not allowed:
        await ws.send_str(frame("error", {"code": "too_many_sockets", "details": {"limit": limit},
                                          "message": f"at most {limit} signaling sockets per user"}))
        await ws.close(code=CLOSE_CODES["policy"], message=b"too many sockets")
        return ws
    conn = Connection(socket_id, ws, principal, token, TokenBucket(settings.ws_rate_per_second, settings.ws_burst))
    if hub.register(conn):
        try:
            await app[SERVICES].authenticator.authenticate(token)
        except InvalidToken:
            conn.error("unauthenticated", "the session ended; log in again and reconnect")
            conn.close("unauthenticated")
        except DomainError:
            pass  # an outage is no reason to drop people: the periodic check comes later
    conn.send("welcome", {"user_id": principal.user_id, "connection_id": conn.id, "protocol": VERSION,
                          "heartbeat_seconds": heartbeat_seconds(settings)})
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await handle(app, conn, msg.data)
            elif msg.type == WSMsgType.BINARY:
                conn.error("unsupported_frame", "binary frames are not part of the protocol")
            if conn.closing:
                break
    finally:
        rooms = list(conn.rooms)
        await hub.unregister(conn)
        try:
            await app[ROOMS].close_socket(conn.principal.user_id, conn.id)
        except DomainError:
            log.warning("could not release the socket's place; it lapses with the member TTL")
        for room_id in rooms:
            try:
                await app[ROOMS].disconnected(conn.principal.user_id, room_id, conn.id)
            except DomainError:
                log.warning("could not start the reconnect grace period", extra={"room_id": room_id})
        await conn.finish()
    return ws


async def handle(app: web.Application, conn: Connection, frame: str) -> None:
    settings = app[SETTINGS]
    if not conn.bucket.take():
        SIGNALING_RATE_LIMITED.inc()
        # Violations count within one flood: a sender that keeps going after a burst of errors is cut off.
        conn.violations += 1
        if conn.violations > settings.ws_burst:
            conn.close("flood", "too many messages")
        else:
            conn.error("rate_limited", f"at most {settings.ws_rate_per_second} messages per second",
                       details={"retry_after": round(1 / settings.ws_rate_per_second, 3)})
        return
    conn.violations = 0
    try:
        kind, re, data = parse(frame)
    except ProtocolError as err:
        SIGNALING_RECEIVED.labels("invalid").inc()
        conn.error(err.code, err.message, err.request_id)
        return
    SIGNALING_RECEIVED.labels(kind).inc()
    with message_span(kind):
        await _command(app, conn, kind, re, data)


async def _command(app: web.Application, conn: Connection, kind: str, re: str | None, data: dict[str, Any]) -> None:
    room = data.get("room_id")
    if room is not None and kind != "join_room" and room not in conn.rooms:
        conn.error("not_in_room", "join the room first", re, {"room_id": room})
        return
    try:
        await COMMANDS[kind](app, conn, re, data)
    except DomainError as err:
        conn.error(err.code, err.message, re, dict(err.details))
    except Exception:
        log.exception("signaling command failed", extra={"type": kind})
        conn.error("internal", "internal error", re)


async def join_room(app: web.Application, conn: Connection, re: str | None, data: dict[str, Any]) -> None:
    """Admission before delivery: the hub holds the room's messages for this socket until the meeting
    domain admitted it and it is in the room's presence (hub.py); a refusal drops them unread."""
    room_id = MeetingId(data["room_id"])
    attached_here = room_id not in conn.rooms
    limit = app[SETTINGS].ws_max_rooms_per_socket
    if attached_here and len(conn.rooms) >= limit:
        conn.error("too_many_rooms", f"a socket may be in at most {limit} rooms", re, {"limit": limit})
        return
    await app[HUB].attach(conn, room_id)  # listen first so nothing published after the join is missed
    try:
        me, others = await app[ROOMS].join(conn.principal.actor, room_id, conn.id, data.get("password"))
    except BaseException:
        if attached_here:
            await app[HUB].detach(conn, room_id)
        raise
    recording = await _recording_now(app, room_id)
    captions = await _captions_now(app, room_id)
    conn.send("room_state", {"room_id": room_id, "self": member_view(me),
                             "members": [member_view(m) for m in others],
                             "ice_servers": ice_servers_for(app[SETTINGS], conn.user_id, int(time.time())),
                             "sfu_peer_id": SFU_PEER_ID, "recording": recording, "captions": captions}, re)
    app[HUB].admit(conn, room_id)


async def _recording_now(app: web.Application, room_id: MeetingId) -> dict[str, Any] | None:
    """The running recording for the newcomer's indicator; an outage must not refuse the join (the
    recording_started frame still reaches them if it starts later)."""
    try:
        found = await app[ROOMS].recording_now(room_id)
    except DomainError:
        log.warning("could not tell whether the room is being recorded", extra={"room_id": room_id})
        return None
    if found is None:
        return None
    return {"recording_id": found.recording_id, "started_by": found.started_by,
            "started_at": iso(found.started_at) if found.started_at else None}


async def _captions_now(app: web.Application, room_id: MeetingId) -> dict[str, Any] | None:
    """Whether captions are on as the newcomer joins; starts this process's caption tap on the room if
    they are on and it does not run here yet.  An outage must not refuse the join (a later ``captions``
    frame still tells them)."""
    service = app[SERVICES].captions
    if service is None:
        return None
    try:
        now = await service.joined(room_id)
    except DomainError:
        log.warning("could not tell whether the room has captions", extra={"room_id": room_id})
        return None
    return {"on": now.on, "available": now.available, "reason": now.reason}


async def leave_room(app: web.Application, conn: Connection, re: str | None, data: dict[str, Any]) -> None:
    room_id = MeetingId(data["room_id"])
    try:
        await app[ROOMS].leave(conn.principal.actor, room_id, conn.id)
    finally:
        await app[HUB].detach(conn, room_id)
    conn.send("ack", {}, re)


async def relay(app: web.Application, conn: Connection, re: str | None, data: dict[str, Any], kind: str) -> None:
    """To a member through the room, or to this process's SFU (which then holds the member's media)."""
    room_id, to, actor = MeetingId(data["room_id"]), UserId(data["to"]), conn.principal.actor
    rooms = app[ROOMS]
    if to == SFU_PEER_ID:
        payload = {k: v for k, v in data.items() if k in ("sdp", "candidate")}
        if kind == "offer" and data.get("restart") is True:
            payload["restart"] = True  # docs/signaling.md 13.12
        await rooms.signal_sfu(actor, room_id, conn.id, SignalKind(kind), payload)
        if kind == "offer":
            app[HUB].hold_media(conn, room_id)
    else:
        raw = data.get("candidate")
        candidate = None if raw is None else IceCandidate(
            candidate=raw["candidate"], sdp_mid=raw.get("sdpMid"), sdp_mline_index=raw.get("sdpMLineIndex"),
            username_fragment=raw.get("usernameFragment"))
        await rooms.relay(actor, room_id, conn.id, SignalKind(kind), to, sdp=data.get("sdp"), candidate=candidate)
    conn.send("ack", {}, re)


async def media_preferences(app: web.Application, conn: Connection, re: str | None, data: dict[str, Any]) -> None:
    """For the room's SFU (docs/signaling.md 13.9, 13.11): how many cameras, whose always, and the size each
    video is shown at.  Only the fields the member sent go on: the others keep their values on the SFU."""
    payload: dict[str, Any] = {}
    if "last_n" in data:
        payload["last_n"] = data["last_n"]
    if "pinned" in data:
        payload["pinned"] = list(data["pinned"])
    if "video_sizes" in data:
        payload["video_sizes"] = {key: {"width": size["width"], "height": size["height"]}
                                  for key, size in data["video_sizes"].items()}
    await app[ROOMS].signal_sfu(conn.principal.actor, MeetingId(data["room_id"]), conn.id,
                                SignalKind.MEDIA_PREFERENCES, payload)
    conn.send("ack", {}, re)


async def media_state(app: web.Application, conn: Connection, re: str | None, data: dict[str, Any]) -> None:
    media = MediaState(audio=data["audio"], video=data["video"], screen=data["screen"])
    await app[ROOMS].set_media(conn.principal.actor, MeetingId(data["room_id"]), conn.id, media)
    conn.send("ack", {}, re)


async def raise_hand(app: web.Application, conn: Connection, re: str | None, data: dict[str, Any]) -> None:
    other = data.get("user_id")
    await app[ROOMS].raise_hand(conn.principal.actor, MeetingId(data["room_id"]), conn.id, data["raised"],
                                UserId(other) if other is not None else None)
    conn.send("ack", {}, re)


async def chat(app: web.Application, conn: Connection, re: str | None, data: dict[str, Any]) -> None:
    posted = await app[ROOMS].chat(conn.principal.actor, MeetingId(data["room_id"]), conn.id, data["text"])
    conn.send("ack", {"message_id": posted.message_id, "sent_at": iso(posted.sent_at)}, re)


async def ping(app: web.Application, conn: Connection, re: str | None, data: dict[str, Any]) -> None:
    conn.send("pong", {}, re)


async def reauth(app: web.Application, conn: Connection, re: str | None, data: dict[str, Any]) -> None:
    """A fresh access token keeps a long meeting's socket alive past the old token's expiry."""
    principal = await app[SERVICES].authenticator.authenticate(data["token"])
    if principal.user_id != conn.principal.user_id:
        raise InvalidToken("the token belongs to another user")
    conn.principal, conn.token = principal, data["token"]
    conn.send("ack", {}, re)


COMMANDS: dict[str, Command] = {
    "auth": reauth, "join_room": join_room, "leave_room": leave_room, "media_state": media_state,
    "chat": chat, "ping": ping, "raise_hand": raise_hand, "media_preferences": media_preferences,
    "offer": lambda a, c, r, d: relay(a, c, r, d, "offer"),
    "answer": lambda a, c, r, d: relay(a, c, r, d, "answer"),
    "ice_candidate": lambda a, c, r, d: relay(a, c, r, d, "ice_candidate"),
}
