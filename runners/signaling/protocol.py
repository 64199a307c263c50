"""The signaling protocol, version 1: one pydantic model per message, which validates and parses client
frames and generates the JSON Schema of every message.

docs/signaling.md explains it; docs/signaling.schema.json is generated from this module
(`python -m runners.signaling.protocol > docs/signaling.schema.json`, checked by a test).  Why pydantic:
runners/shapes.py.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Annotated, Any, Literal

from jsonschema import Draft202012Validator
from pydantic import BaseModel, BeforeValidator, Field, RootModel, ValidationError, WithJsonSchema

from runners.shapes import TIME_SCHEMA, Id, Shape, components, first_problem, text, unstorable_path

VERSION = 1
REQUEST_ID = {"type": "string", "minLength": 1, "maxLength": 64}
Sdp = text(32_000, 1)
TimeText = Annotated[str, WithJsonSchema(TIME_SCHEMA)]
Role = Literal["host", "co_host", "participant"]


class Candidate(Shape):
    candidate: text(2000)
    sdpMid: Annotated[str | None, Field(max_length=64)] = None  # noqa: N815 (WebRTC's own names)
    sdpMLineIndex: Annotated[int | None, Field(ge=0, le=1000)] = None  # noqa: N815
    usernameFragment: Annotated[str | None, Field(max_length=256)] = None  # noqa: N815


# -- client -> server: the "data" of each message type -------------------------------------------------

class Auth(Shape):
    token: text(4096, 1)


class JoinRoom(Shape):
    room_id: Id
    password: text(256, 1) = None


class LeaveRoom(Shape):
    room_id: Id


class SendSdp(Shape):
    room_id: Id
    to: Id
    sdp: Sdp


class SendOffer(SendSdp):
    restart: Annotated[bool, Field(description=(
        "to the SFU only: this offer comes from a new peer connection that restarts your current one after "
        "a network change (docs/signaling.md 13.12): your tracks, subscriptions and preferences stay, nobody "
        "else renegotiates"))] = False


class SendCandidate(Shape):
    room_id: Id
    to: Id
    candidate: Candidate


class SetMediaState(Shape):
    room_id: Id
    audio: bool
    video: bool
    screen: bool


class RaiseHand(Shape):
    room_id: Id
    raised: Annotated[bool, Field(description="true raises your hand, false lowers it")]
    user_id: Annotated[Id | None, Field(description="a host or co-host lowering another member's hand "
                                                   "(raised false); omitted for your own")] = None


class SendChat(Shape):
    room_id: Id
    text: text(2000, 1)


class TileSize(Shape):
    width: Annotated[int, Field(ge=1, le=16_384)]
    height: Annotated[int, Field(ge=1, le=16_384)]


# "<user id>" (the member's camera) or "<user id>:screen" (its screen share), lower-case UUIDs.
VideoKey = Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(:screen)?$")]


class SetMediaPreferences(Shape):
    """Each field sent replaces that preference; a field left out keeps its value (docs/signaling.md 13.9)."""

    room_id: Id
    # No defaults in the schema: absent means "unchanged", not an empty value (parse keeps only what was sent).
    last_n: Annotated[int | None, Field(ge=0, le=100, description=(
        "how many other members' cameras the SFU forwards to you: the most recent active speakers "
        "(0: all of them; null: the server's APP_MEDIA_LAST_N; absent: unchanged)"))] = None
    pinned: Annotated[list[Id], Field(max_length=16, description=(
        "members whose camera you always get (they count towards last_n); [] unpins everyone; "
        "absent: unchanged"))] = None
    video_sizes: Annotated[dict[VideoKey, TileSize], Field(max_length=64, description=(
        "the size, in device pixels, you render each member's camera (\"<user id>\") or screen share "
        "(\"<user id>:screen\") at: the SFU forwards the smallest simulcast layer that fills it "
        "(docs/signaling.md 13.11); videos not listed get the highest layer; replaces the sizes sent "
        "before ({} forgets them all); absent: unchanged"))] = None


class Empty(Shape):
    pass


CLIENT_MODELS: dict[str, type[BaseModel]] = {
    "auth": Auth, "join_room": JoinRoom, "leave_room": LeaveRoom, "offer": SendOffer, "answer": SendSdp,
    "ice_candidate": SendCandidate, "media_state": SetMediaState, "chat": SendChat, "ping": Empty,
    "raise_hand": RaiseHand, "media_preferences": SetMediaPreferences,
}


# -- server -> client ----------------------------------------------------------------------------------

class Media(Shape):
    audio: bool
    video: bool
    screen: bool
    hand: Annotated[bool, Field(description="the member's hand is raised (raise_hand)")]


class Member(Shape):
    user_id: Id
    display_name: str
    role: Role
    media: Media
    joined_at: TimeText


class Welcome(Shape):
    user_id: Id
    connection_id: str
    protocol: Literal[1]
    heartbeat_seconds: int


class ChatAck(Shape):
    message_id: Id
    sent_at: TimeText


class Ack(RootModel[Empty | ChatAck]):
    """An empty object, or for chat both message_id and sent_at."""


class RecordingNow(Shape):
    recording_id: Id
    started_by: Id
    started_at: TimeText | None


class CaptionsNow(Shape):
    on: Annotated[bool, Field(description="the host or a co-host turned live captions on")]
    available: Annotated[bool, Field(description="captions can be made now (false: speech-to-text is "
                                                 "unreachable, or this server has no captions)")]
    reason: Annotated[str | None, Field(description="why captions are unavailable (speech_to_text_unavailable, "
                                                    "not_configured), or null")] = None


class RoomState(Shape):
    room_id: Id
    self_: Member = Field(alias="self")
    members: list[Member]
    ice_servers: list[dict[str, Any]]
    sfu_peer_id: Id
    recording: Annotated[RecordingNow | None, Field(
        description="the recording running as you join (show the indicator), or null")] = None
    captions: Annotated[CaptionsNow | None, Field(
        description="whether live captions are on as you join (null: this server has no captions)")] = None


class MemberJoined(Member):
    room_id: Id


class MemberLeft(Shape):
    room_id: Id
    user_id: Id
    reason: Literal["left", "disconnected", "kicked", "ended"]


class MediaStateChanged(Media):
    room_id: Id
    user_id: Id


class SdpFrom(Shape):
    room_id: Id
    from_: Id = Field(alias="from")
    sdp: Sdp


class CandidateFrom(Shape):
    room_id: Id
    from_: Id = Field(alias="from")
    candidate: Candidate


class Chat(Shape):
    room_id: Id
    message_id: Id
    from_: Id = Field(alias="from")
    display_name: str
    text: str
    sent_at: TimeText


class Kicked(Shape):
    room_id: Id
    by: Annotated[Id | None, Field(description="the host or co-host who kicked, or null")]


class Removed(Shape):
    room_id: Id
    reason: Literal["left", "expired"]


class RoomClosed(Shape):
    room_id: Id
    reason: Literal["ended", "cancelled", "deleted"]


class RoomUpdated(Shape):
    room_id: Id
    locked: bool


class RoleChanged(Shape):
    room_id: Id
    user_id: Id
    role: Role


class RecordingStarted(Shape):
    room_id: Id
    recording_id: Id
    started_by: Id


class RecordingStopped(Shape):
    room_id: Id
    recording_id: Id
    reason: Literal["stopped", "failed", "meeting_ended"]


class CaptionsFrame(Shape):
    room_id: Id
    on: bool
    available: bool
    by: Annotated[Id | None, Field(description="who turned captions on or off; null when the meeting ended "
                                                "them or for a change of availability")]
    reason: Annotated[str | None, Field(description="why captions are unavailable (speech_to_text_unavailable; "
                                                    "null when available)")]


class CaptionFrame(Shape):
    room_id: Id
    caption_id: Annotated[str, Field(min_length=1, max_length=128,
                                     description="stable for a window: a partial caption is replaced by the "
                                                 "next caption with the same id, ending with the final one")]
    speaker_id: Id
    display_name: str
    text: str
    final: bool
    start_s: Annotated[float, Field(ge=0, description="seconds since the meeting started")]
    end_s: Annotated[float, Field(ge=0, description="seconds since the meeting started")]
    start_at: TimeText
    end_at: TimeText


class InRoom(Shape):
    room_id: Id


class MemberInRoom(Shape):
    room_id: Id
    user_id: Id


class NotificationFrame(Shape):
    """A new in-app notification of this socket's user (issue 13); the same fields as an item of
    GET /api/v1/notifications."""

    id: Id
    kind: str
    title: str
    body: str
    link: str | None
    data: dict[str, Any]
    created_at: TimeText


class MediaResetFrame(Shape):
    room_id: Id
    reason: Annotated[Literal["node_lost", "node_drained"],
                      Field(description="node_lost: the media node holding the room failed; node_drained: it was "
                                        "drained and has gone. Either way: close the peer connection with the SFU "
                                        "and offer from a new one (section 13.7)")]


class ErrorData(Shape):
    code: str
    message: str
    details: dict[str, Any]
    trace_id: str | None = None  # present when tracing is on: the trace of the message that failed
    span_id: str | None = None


SERVER_MODELS: dict[str, type[BaseModel]] = {
    "welcome": Welcome, "ack": Ack, "pong": Empty, "room_state": RoomState, "member_joined": MemberJoined,
    "member_left": MemberLeft, "media_state": MediaStateChanged, "offer": SdpFrom, "answer": SdpFrom,
    "ice_candidate": CandidateFrom, "chat": Chat, "kicked": Kicked, "removed": Removed,
    "room_closed": RoomClosed, "room_updated": RoomUpdated, "role_changed": RoleChanged,
    "session_replaced": InRoom, "member_resumed": MemberInRoom, "active_speaker": MemberInRoom,
    "error": ErrorData, "recording_started": RecordingStarted, "recording_stopped": RecordingStopped,
    "notification": NotificationFrame, "captions": CaptionsFrame, "caption": CaptionFrame,
    "media_reset": MediaResetFrame,
}

# -- the published schema -------------------------------------------------------------------------------

_REF = "#/$defs/{model}"
_DEFS = components({*CLIENT_MODELS.values(), *SERVER_MODELS.values()}, _REF)


def _inline(model: type[BaseModel]) -> dict[str, Any]:
    schema = dict(_DEFS[model.__name__])
    schema.pop("title", None)
    return schema


CLIENT: dict[str, dict[str, Any]] = {kind: _inline(m) for kind, m in CLIENT_MODELS.items()}
SERVER: dict[str, dict[str, Any]] = {kind: _inline(m) for kind, m in SERVER_MODELS.items()}
# Models the messages refer to (a member, an ICE candidate, ...), under their own names.
_REFERRED = set(re.findall(r'"#/\$defs/(\w+)"', json.dumps([CLIENT, SERVER])))
SHARED = {name: {k: v for k, v in _DEFS[name].items() if k != "title"} for name in sorted(_REFERRED)}

CLIENT_ENVELOPE = {
    "type": "object",
    "properties": {"v": {"const": VERSION}, "type": {"enum": sorted(CLIENT)}, "id": REQUEST_ID,
                   "data": {"type": "object"}},
    "required": ["v", "type"], "additionalProperties": False,
    "description": "A frame whose type is missing or not a client type is answered with the error "
                   "unknown_type; any other breach of this envelope or of the type's data with invalid_message.",
}
SERVER_ENVELOPE = {
    "type": "object",
    "properties": {"v": {"const": VERSION}, "type": {"enum": sorted(SERVER)}, "re": REQUEST_ID,
                   "data": {"type": "object"}},
    "required": ["v", "type", "data"], "additionalProperties": False,
}


def document() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Confero signaling protocol v{VERSION}",
        "$defs": {"client_envelope": CLIENT_ENVELOPE, "server_envelope": SERVER_ENVELOPE,
                  "client": CLIENT, "server": SERVER, **SHARED},
    }


# -- parsing ---------------------------------------------------------------------------------------------

class ProtocolError(Exception):
    def __init__(self, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.request_id = code, message, request_id


def _version(value: Any) -> Any:
    if isinstance(value, bool):  # Literal[1] alone would take true (True == 1 in Python)
        raise ValueError("v must be the integer 1")
    return value


class ClientEnvelope(Shape):
    v: Annotated[Literal[1], BeforeValidator(_version)]
    type: str
    id: text(64, 1) = None
    data: dict[str, Any] = None


def parse(frame: str) -> tuple[str, str | None, dict[str, Any]]:
    """A client frame -> (type, request id, data as sent).  Raises ProtocolError with a stable code:
    malformed_json, unknown_type (type missing or not a client type), invalid_message (anything else)."""
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        raise ProtocolError("malformed_json", "frame is not valid JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError("invalid_message", "a frame is a JSON object")
    request_id = message.get("id") if isinstance(message.get("id"), str) else None
    escaped = "\\u" in frame  # a lone surrogate can only arrive as a \u escape: skip the walk otherwise
    if request_id is not None and (len(request_id) > 64 or (escaped and unstorable_path(request_id) is not None)):
        request_id = None
    where = unstorable_path(message) if escaped else None
    if where is not None:  # valid JSON ("\ud800") but not text: nothing downstream can store or hash it
        raise ProtocolError("invalid_message", f"{where}: not valid Unicode text (a lone surrogate)", request_id)
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in CLIENT_MODELS:
        raise ProtocolError("unknown_type", f"type must be one of: {', '.join(sorted(CLIENT_MODELS))}", request_id)
    try:
        envelope = ClientEnvelope.model_validate(message)
    except ValidationError as err:
        where, problem = first_problem(err)
        raise ProtocolError("invalid_message", f"{where}: {problem}", request_id) from None
    try:
        data = CLIENT_MODELS[kind].model_validate(envelope.data if envelope.data is not None else {})
    except ValidationError as err:
        where, problem = first_problem(err)
        raise ProtocolError("invalid_message", f"data/{where}: {problem}" if where else f"data: {problem}",
                            request_id) from None
    return kind, request_id, data.model_dump(exclude_unset=True, by_alias=True)


# -- checking what the server sends (tests) ------------------------------------------------------------------

@functools.cache
def _server_validators() -> tuple[Draft202012Validator, dict[str, Draft202012Validator]]:
    """Built on first use: only tests check what the server sends, so a serving process never pays."""
    doc = document()
    checker = Draft202012Validator.FORMAT_CHECKER
    return (Draft202012Validator(SERVER_ENVELOPE, format_checker=checker),
            {kind: Draft202012Validator({**doc, "$ref": f"#/$defs/server/{kind}"}, format_checker=checker)
             for kind in SERVER})


def check_server(message: dict[str, Any]) -> list[str]:
    """Schema errors of a server message, by an independent validator of the published document (for tests)."""
    envelope, by_kind = _server_validators()
    problems = [e.message for e in envelope.iter_errors(message)]
    if not problems:
        problems = [e.message for e in by_kind[message["type"]].iter_errors(message["data"])]
    return problems


if __name__ == "__main__":
    print(json.dumps(document(), indent=2, sort_keys=True))
