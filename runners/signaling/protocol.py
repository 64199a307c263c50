"""The signaling protocol, version 1: envelopes and the JSON Schema of every message.

docs/signaling.md explains it; docs/signaling.schema.json is generated from this module
(`python -m runners.signaling.protocol > docs/signaling.schema.json`, checked by a test).
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

from domain.shared.text import unstorable_path

VERSION = 1
ID = {"type": "string", "format": "uuid"}
REQUEST_ID = {"type": "string", "minLength": 1, "maxLength": 64}
TIME = {"type": "string", "format": "date-time"}
MEDIA = {"audio": {"type": "boolean"}, "video": {"type": "boolean"}, "screen": {"type": "boolean"}}


def obj(props: dict[str, Any], *required: str) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


CANDIDATE = {
    "type": "object",
    "properties": {"candidate": {"type": "string", "maxLength": 2000}, "sdpMid": {"type": ["string", "null"], "maxLength": 64},
                   "sdpMLineIndex": {"type": ["integer", "null"], "minimum": 0, "maximum": 1000},
                   "usernameFragment": {"type": ["string", "null"], "maxLength": 256}},
    "required": ["candidate"], "additionalProperties": False,
}
SDP = {"type": "string", "minLength": 1, "maxLength": 32_000}
MEMBER = obj({"user_id": ID, "display_name": {"type": "string"}, "role": {"enum": ["host", "co_host", "participant"]},
              "media": obj(MEDIA, "audio", "video", "screen"), "joined_at": TIME},
             "user_id", "display_name", "role", "media", "joined_at")

# Client -> server: the "data" of each message type.
CLIENT: dict[str, dict[str, Any]] = {
    "auth": obj({"token": {"type": "string", "minLength": 1, "maxLength": 4096}}, "token"),
    "join_room": obj({"room_id": ID, "password": {"type": "string", "minLength": 1, "maxLength": 256}}, "room_id"),
    "leave_room": obj({"room_id": ID}, "room_id"),
    "offer": obj({"room_id": ID, "to": ID, "sdp": SDP}, "room_id", "to", "sdp"),
    "answer": obj({"room_id": ID, "to": ID, "sdp": SDP}, "room_id", "to", "sdp"),
    "ice_candidate": obj({"room_id": ID, "to": ID, "candidate": CANDIDATE}, "room_id", "to", "candidate"),
    "media_state": obj({"room_id": ID, **MEDIA}, "room_id", "audio", "video", "screen"),
    "chat": obj({"room_id": ID, "text": {"type": "string", "minLength": 1, "maxLength": 2000}}, "room_id", "text"),
    "ping": obj({}),
}

# Server -> client.
SERVER: dict[str, dict[str, Any]] = {
    "welcome": obj({"user_id": ID, "connection_id": {"type": "string"}, "protocol": {"const": VERSION},
                    "heartbeat_seconds": {"type": "integer"}}, "user_id", "connection_id", "protocol",
                   "heartbeat_seconds"),
    "ack": obj({"message_id": ID, "sent_at": TIME}),
    "pong": obj({}),
    "room_state": obj({"room_id": ID, "self": MEMBER, "members": {"type": "array", "items": MEMBER},
                       "ice_servers": {"type": "array", "items": {"type": "object"}}, "sfu_peer_id": ID},
                      "room_id", "self", "members", "ice_servers", "sfu_peer_id"),
    "member_joined": MEMBER | {"properties": MEMBER["properties"] | {"room_id": ID},
                               "required": [*MEMBER["required"], "room_id"]},
    "member_left": obj({"room_id": ID, "user_id": ID, "reason": {"enum": ["left", "disconnected", "kicked", "ended"]}},
                       "room_id", "user_id", "reason"),
    "media_state": obj({"room_id": ID, "user_id": ID, **MEDIA}, "room_id", "user_id", "audio", "video", "screen"),
    "offer": obj({"room_id": ID, "from": ID, "sdp": SDP}, "room_id", "from", "sdp"),
    "answer": obj({"room_id": ID, "from": ID, "sdp": SDP}, "room_id", "from", "sdp"),
    "ice_candidate": obj({"room_id": ID, "from": ID, "candidate": CANDIDATE}, "room_id", "from", "candidate"),
    "chat": obj({"room_id": ID, "message_id": ID, "from": ID, "display_name": {"type": "string"},
                 "text": {"type": "string"}, "sent_at": TIME},
                "room_id", "message_id", "from", "display_name", "text", "sent_at"),
    "kicked": obj({"room_id": ID, "by": {"type": ["string", "null"]}}, "room_id"),
    "removed": obj({"room_id": ID, "reason": {"enum": ["left", "expired"]}}, "room_id", "reason"),
    "room_closed": obj({"room_id": ID, "reason": {"enum": ["ended", "cancelled", "deleted"]}}, "room_id", "reason"),
    "room_updated": obj({"room_id": ID, "locked": {"type": "boolean"}}, "room_id", "locked"),
    "role_changed": obj({"room_id": ID, "user_id": ID, "role": {"enum": ["host", "co_host", "participant"]}},
                        "room_id", "user_id", "role"),
    "session_replaced": obj({"room_id": ID}, "room_id"),
    "member_resumed": obj({"room_id": ID, "user_id": ID}, "room_id", "user_id"),
    "active_speaker": obj({"room_id": ID, "user_id": ID}, "room_id", "user_id"),
    "error": obj({"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}},
                 "code", "message", "details"),
}

CLIENT_ENVELOPE = {
    "type": "object",
    "properties": {"v": {"const": VERSION}, "type": {"enum": sorted(CLIENT)}, "id": REQUEST_ID,
                   "data": {"type": "object"}},
    "required": ["v", "type"], "additionalProperties": False,
}
SERVER_ENVELOPE = {
    "type": "object",
    "properties": {"v": {"const": VERSION}, "type": {"enum": sorted(SERVER)}, "re": REQUEST_ID,
                   "data": {"type": "object"}},
    "required": ["v", "type", "data"], "additionalProperties": False,
}

_checker = Draft202012Validator.FORMAT_CHECKER
_envelope = Draft202012Validator(CLIENT_ENVELOPE, format_checker=_checker)
_client = {t: Draft202012Validator(s, format_checker=_checker) for t, s in CLIENT.items()}
_server_envelope = Draft202012Validator(SERVER_ENVELOPE, format_checker=_checker)
_server = {t: Draft202012Validator(s, format_checker=_checker) for t, s in SERVER.items()}


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.request_id = code, message, request_id


def _first_error(validator: Draft202012Validator, value: Any) -> str | None:
    error = next(iter(sorted(validator.iter_errors(value), key=lambda e: list(e.path))), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


def parse(frame: str) -> tuple[str, str | None, dict[str, Any]]:
    """A client frame -> (type, request id, data).  Raises ProtocolError with a stable code."""
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        raise ProtocolError("malformed_json", "frame is not valid JSON") from None
    request_id = message.get("id") if isinstance(message, dict) and isinstance(message.get("id"), str) else None
    if request_id is not None and (len(request_id) > 64 or unstorable_path(request_id) is not None):
        request_id = None
    where = unstorable_path(message)
    if where is not None:  # valid JSON ("\ud800") but not text: nothing downstream can store or hash it
        raise ProtocolError("invalid_message", f"{where}: not valid Unicode text (a lone surrogate)", request_id)
    problem = _first_error(_envelope, message)
    if problem is not None:
        kind = message.get("type") if isinstance(message, dict) else None
        code = ("unknown_type" if isinstance(message, dict) and not (isinstance(kind, str) and kind in CLIENT)
                else "invalid_message")
        raise ProtocolError(code, problem, request_id)
    data = message.get("data", {})
    problem = _first_error(_client[message["type"]], data)
    if problem is not None:
        raise ProtocolError("invalid_message", f"data/{problem}", request_id)
    return message["type"], request_id, data


def check_server(message: dict[str, Any]) -> list[str]:
    """Schema errors of a server message (for tests)."""
    problems = [e.message for e in _server_envelope.iter_errors(message)]
    if not problems:
        problems = [e.message for e in _server[message["type"]].iter_errors(message["data"])]
    return problems


def document() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Confero signaling protocol v{VERSION}",
        "$defs": {"client_envelope": CLIENT_ENVELOPE, "server_envelope": SERVER_ENVELOPE,
                  "client": CLIENT, "server": SERVER},
    }


if __name__ == "__main__":
    print(json.dumps(document(), indent=2, sort_keys=True))
