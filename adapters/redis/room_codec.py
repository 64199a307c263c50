"""JSON for room members and room messages, as the Redis presence and signal bus store and send them."""

from __future__ import annotations

import datetime as dt
import json

from domain.rooms.model import MediaState, Member, RoomMessage
from domain.shared.ids import MeetingId, UserId


def member_to_json(m: Member) -> str:
    if m.joined_at.utcoffset() is None:
        raise ValueError("joined_at must be timezone-aware")
    return json.dumps({
        "user_id": m.user_id, "connection_id": m.connection_id, "display_name": m.display_name, "role": m.role,
        "media": {"audio": m.media.audio, "video": m.media.video, "screen": m.media.screen},
        "joined_at": m.joined_at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"),
    }, separators=(",", ":"), ensure_ascii=False)


def member_from_json(text: str) -> Member:
    d = json.loads(text)
    return Member(user_id=UserId(d["user_id"]), connection_id=d["connection_id"], display_name=d["display_name"],
                  role=d["role"], media=MediaState(**d["media"]),
                  joined_at=dt.datetime.fromisoformat(d["joined_at"]))


def message_to_json(m: RoomMessage) -> str:
    # ``data`` must be JSON-native (str keys, lists not tuples) to come back equal.
    return json.dumps({"room_id": m.room_id, "kind": m.kind, "data": m.data, "to": m.to,
                       "connection_id": m.connection_id, "exclude": m.exclude, "close": m.close},
                      separators=(",", ":"), ensure_ascii=False)


def message_from_json(text: str) -> RoomMessage:
    d = json.loads(text)
    return RoomMessage(room_id=MeetingId(d["room_id"]), kind=d["kind"], data=d["data"],
                       to=None if d["to"] is None else UserId(d["to"]), connection_id=d["connection_id"],
                       exclude=None if d["exclude"] is None else UserId(d["exclude"]), close=d["close"])
