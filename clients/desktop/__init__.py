"""The desktop client: a PySide6 window over a Qt-free session layer.

- ``api``: the HTTP API (sign in, meetings) with aiohttp;
- ``signaling``: the signaling WebSocket, protocol v1 (docs/signaling.md), request/reply by id;
- ``media``: local sources (camera or a test pattern, microphone or a tone/silence) and the one peer
  connection with the SFU (docs/signaling.md section 13);
- ``session``: a meeting as the window sees it (members, tiles' tracks, chat, mute), no Qt;
- ``ui`` and ``__main__``: the Qt widgets and the asyncio/Qt loop (qasync).

Run it with ``python -m clients.desktop --server http://127.0.0.1:8800`` (``pip install -e '.[desktop]'``).
"""
