"""JSON Schemas (2020-12, as OpenAPI 3.1 uses) for every request and response body.

Request schemas check shape and types; the domain checks meaning (a username's characters, a capacity's
range) and answers with its own specific errors.
"""

from __future__ import annotations

from typing import Any

STR = {"type": "string"}
UUID = {"type": "string", "format": "uuid"}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def obj(props: dict[str, Any], required: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False,
            **extra}


def text(max_length: int, min_length: int = 0) -> dict[str, Any]:
    return {"type": "string", "minLength": min_length, "maxLength": max_length}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SETTINGS_PROPS = {"mute_on_join": {"type": "boolean"}, "allow_recording": {"type": "boolean"},
                  "invite_only": {"type": "boolean"}}

REQUESTS: dict[str, dict[str, Any]] = {
    "RegisterRequest": obj({"username": text(64, 1), "email": text(254, 1), "password": text(1024, 1),
                            "display_name": text(200, 1)}, ("username", "email", "password")),
    "LoginRequest": obj({"username": text(254, 1), "password": text(1024, 1)}, ("username", "password")),
    "RefreshRequest": obj({"refresh_token": text(4096, 1)}, ("refresh_token",)),
    "LogoutRequest": obj({"refresh_token": text(4096, 1)}),
    "UpdateUserRequest": obj({"username": text(64, 1), "email": text(254, 1), "display_name": text(200, 1),
                              "password": text(1024, 1), "current_password": text(1024, 1)}, minProperties=1),
    "SetRoleRequest": obj({"role": {"type": "string", "enum": ["user", "admin"]}}, ("role",)),
    "CreateMeetingRequest": obj({
        "title": text(400, 1), "description": text(4000), "start_time": TIME,
        "duration_minutes": {"type": "integer"}, "capacity": {"type": "integer"},
        "password": text(256, 1), "settings": obj(SETTINGS_PROPS),
    }, ("title",)),
    "UpdateMeetingRequest": obj({
        "title": text(400, 1), "description": text(4000), "start_time": TIME,
        "duration_minutes": {"type": "integer"}, "capacity": {"type": "integer"},
        "password": {"type": ["string", "null"], "minLength": 1, "maxLength": 256,
                     "description": "a new password, or null to remove it"},
        "settings": obj(SETTINGS_PROPS),
    }, minProperties=1),
    "JoinMeetingRequest": obj({"password": text(256, 1)}),
    "InviteRequest": {"oneOf": [obj({"user_id": UUID}, ("user_id",)), obj({"email": text(254, 1)}, ("email",))]},
    "TransferHostRequest": obj({"user_id": UUID}, ("user_id",)),
}

RESPONSES: dict[str, dict[str, Any]] = {
    "Error": obj({"error": obj({"code": STR, "message": STR, "details": {"type": "object"},
                                "request_id": {"type": ["string", "null"]}},
                               ("code", "message", "details", "request_id"))}, ("error",)),
    "PublicUser": obj({"id": UUID, "username": STR, "display_name": STR}, ("id", "username", "display_name")),
    "User": obj({"id": UUID, "username": STR, "email": STR, "display_name": STR,
                 "role": {"type": "string", "enum": ["user", "admin"]}, "banned": {"type": "boolean"},
                 "created_at": TIME, "updated_at": TIME},
                ("id", "username", "email", "display_name", "role", "banned", "created_at", "updated_at")),
    "UserView": {"oneOf": [ref("User"), ref("PublicUser")]},
    "UserPage": obj({"items": {"type": "array", "items": ref("User")}, "total": {"type": "integer"},
                     "offset": {"type": "integer"}, "limit": {"type": "integer"}},
                    ("items", "total", "offset", "limit")),
    "TokenResponse": obj({"access_token": STR, "refresh_token": STR, "token_type": {"const": "Bearer"},
                          "expires_in": {"type": "integer"}, "user": ref("User")},
                         ("access_token", "refresh_token", "token_type", "expires_in", "user")),
    "RefreshResponse": obj({"access_token": STR, "refresh_token": STR, "token_type": {"const": "Bearer"},
                            "expires_in": {"type": "integer"}},
                           ("access_token", "refresh_token", "token_type", "expires_in")),
    "Meeting": obj({
        "id": UUID, "host_id": UUID, "title": STR, "description": STR, "start_time": TIME,
        "duration_minutes": {"type": "integer"}, "ends_at": TIME, "capacity": {"type": "integer"},
        "has_password": {"type": "boolean"}, "settings": obj(SETTINGS_PROPS, tuple(SETTINGS_PROPS)),
        "status": {"type": "string", "enum": ["scheduled", "live", "ended", "cancelled"]},
        "locked": {"type": "boolean"}, "co_host_ids": {"type": "array", "items": UUID},
        "participant_count": {"type": "integer"},
        "your_role": {"type": ["string", "null"], "enum": ["host", "co_host", "participant", None]},
        "joined": {"type": "boolean"},
        "created_at": TIME, "updated_at": TIME, "started_at": NULLABLE_TIME, "ended_at": NULLABLE_TIME,
        "invited_user_ids": {"type": "array", "items": UUID,
                             "description": "host, co-hosts and admins only"},
        "invited_emails": {"type": "array", "items": STR, "description": "host, co-hosts and admins only"},
        "kicked_user_ids": {"type": "array", "items": UUID, "description": "host, co-hosts and admins only"},
    }, ("id", "host_id", "title", "description", "start_time", "duration_minutes", "ends_at", "capacity",
        "has_password", "settings", "status", "locked", "co_host_ids", "participant_count", "your_role",
        "joined", "created_at", "updated_at", "started_at", "ended_at")),
    "MeetingPage": obj({"items": {"type": "array", "items": ref("Meeting")}, "total": {"type": "integer"},
                        "offset": {"type": "integer"}, "limit": {"type": "integer"}},
                       ("items", "total", "offset", "limit")),
    "Participant": obj({"user_id": UUID, "role": {"type": "string", "enum": ["host", "co_host", "participant"]},
                        "joined_at": TIME}, ("user_id", "role", "joined_at")),
    "ParticipantList": obj({"meeting_id": UUID, "capacity": {"type": "integer"},
                            "items": {"type": "array", "items": ref("Participant")}},
                           ("meeting_id", "capacity", "items")),
    "Health": obj({"status": STR, "adapters": STR}, ("status", "adapters")),
    "DeadLetter": obj({"id": STR, "name": STR, "event_id": STR, "occurred_at": NULLABLE_TIME,
                       "payload": {"type": "object"}, "consumer": STR, "error": STR,
                       "attempts": {"type": "integer"}, "failed_at": TIME},
                      ("id", "name", "event_id", "occurred_at", "payload", "consumer", "error", "attempts",
                       "failed_at")),
    "DeadLetterPage": obj({"items": {"type": "array", "items": ref("DeadLetter")}, "total": {"type": "integer"},
                           "offset": {"type": "integer"}, "limit": {"type": "integer"}},
                          ("items", "total", "offset", "limit")),
    "MediaTrackStats": obj({
        "publisher_id": UUID, "kind": {"type": "string", "enum": ["audio", "video"]},
        "direction": {"type": "string", "enum": ["inbound", "outbound"],
                      "description": "inbound: published by the participant; outbound: forwarded to it"},
        "active": {"type": "boolean"}, "bitrate_bps": {"type": "integer", "description": "since the last call"},
        "packets": {"type": "integer"}, "packets_lost": {"type": "integer"},
        "rtt_ms": {"type": ["number", "null"]}, "frames_forwarded": {"type": "integer"},
    }, ("publisher_id", "kind", "direction", "active", "bitrate_bps", "packets", "packets_lost", "rtt_ms",
        "frames_forwarded")),
    "MediaParticipantStats": obj({"user_id": UUID, "connection_state": STR,
                                  "tracks": {"type": "array", "items": ref("MediaTrackStats")}},
                                 ("user_id", "connection_state", "tracks")),
    "MediaStats": obj({"room_id": UUID, "participants": {"type": "array", "items": ref("MediaParticipantStats")}},
                      ("room_id", "participants"),
                      description="Only the connections held by the process that answers (the SFU of a member "
                                  "lives in the process holding its signaling socket)."),
}

SCHEMAS = REQUESTS | RESPONSES
