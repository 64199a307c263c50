"""The signaling baseline: a bare aiohttp WebSocket broadcast server.

GET /ws?room=<name> upgrades; every text frame must be JSON and is broadcast, re-serialized, to
every socket of the room (the sender included, as the real server does with chat).  No auth, no
validation, no presence, no bus: what one aiohttp process costs before any of our work.

Usage: python bench/ws_baseline.py PORT
"""

from __future__ import annotations

import json
import sys

from aiohttp import WSMsgType, web

ROOMS: dict[str, set[web.WebSocketResponse]] = {}


async def ws_handler(request: web.Request) -> web.WebSocketResponse:
    room = request.query.get("room", "")
    ws = web.WebSocketResponse(heartbeat=20, autoping=True)
    await ws.prepare(request)
    members = ROOMS.setdefault(room, set())
    members.add(ws)
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                frame = json.dumps(json.loads(msg.data))
            except ValueError:
                continue
            for peer in list(members):
                if not peer.closed:
                    try:
                        await peer.send_str(frame)
                    except (ConnectionResetError, RuntimeError):
                        pass
    finally:
        members.discard(ws)
        if not members:
            ROOMS.pop(room, None)
    return ws


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    app.router.add_get("/ws", ws_handler)
    app.router.add_get("/health", health)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
