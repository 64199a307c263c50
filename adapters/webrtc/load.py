"""What a media node reports as its load (issue 14): the RTP streams its SFU forwards now."""

from __future__ import annotations

from adapters.webrtc.sfu import AiortcMediaServer


def forwarded_streams(sfu: AiortcMediaServer) -> int:
    """One per active subscription: a member receiving another member's track."""
    return sum(1 for room in list(sfu.rooms.values()) for peer in list(room.peers.values())
               for sub in list(peer.subscriptions.values()) if sub.active)
