"""Room events on the wire: each typed room event becomes one protocol frame (docs/signaling.md,
section 4), with who receives it and whether it ends the receiver's membership (and closes it)."""

from __future__ import annotations

from typing import Any

from attrs import frozen

from domain.rooms import events as ev
from domain.rooms.model import IceCandidate, Member
from domain.shared.ids import UserId
from runners.shapes import iso


@frozen(kw_only=True)
class Delivery:
    kind: str
    data: dict[str, Any]
    to: UserId | None = None  # only this user's sockets
    connection_id: str | None = None  # only this socket of ``to``
    exclude: UserId | None = None  # never this user's sockets
    leaving: bool = False  # the receiving socket is no longer in the room
    close: str | None = None  # ...and is then closed for this reason (connection.CLOSE_CODES)


def member_view(m: Member) -> dict[str, Any]:
    return {"user_id": m.user_id, "display_name": m.display_name, "role": m.role,
            "media": {"audio": m.media.audio, "video": m.media.video, "screen": m.media.screen,
                      "hand": m.media.hand},
            "joined_at": iso(m.joined_at)}


def candidate_view(c: IceCandidate) -> dict[str, Any]:
    out: dict[str, Any] = {"candidate": c.candidate}
    for key, value in (("sdpMid", c.sdp_mid), ("sdpMLineIndex", c.sdp_mline_index),
                       ("usernameFragment", c.username_fragment)):
        if value is not None:
            out[key] = value
    return out


def delivery(event: ev.RoomEvent) -> Delivery:
    room = {"room_id": event.room_id}
    match event:
        case ev.ChatPosted():
            return Delivery(kind="chat", data=room | {
                "message_id": event.message_id, "from": event.sender, "display_name": event.display_name,
                "text": event.text, "sent_at": iso(event.sent_at)})
        case ev.SignalSent():
            body: dict[str, Any] = ({"sdp": event.sdp} if event.candidate is None
                                    else {"candidate": candidate_view(event.candidate)})
            return Delivery(kind=event.kind.value, data=room | {"from": event.sender} | body, to=event.to)
        case ev.MediaChanged(media=media):
            return Delivery(kind="media_state", exclude=event.user_id, data=room | {
                "user_id": event.user_id, "audio": media.audio, "video": media.video, "screen": media.screen,
                "hand": media.hand})
        case ev.MemberJoined(member=member):
            return Delivery(kind="member_joined", data=room | member_view(member), exclude=member.user_id)
        case ev.MemberLeft():
            return Delivery(kind="member_left", exclude=event.user_id,
                            data=room | {"user_id": event.user_id, "reason": event.reason.value})
        case ev.MemberResumed():
            return Delivery(kind="member_resumed", data=room | {"user_id": event.user_id}, exclude=event.user_id)
        case ev.SessionReplaced():
            return Delivery(kind="session_replaced", data=room, to=event.user_id, connection_id=event.connection_id,
                            leaving=True, close="replaced")
        case ev.MemberKicked():
            return Delivery(kind="kicked", data=room | {"by": event.by}, to=event.user_id, leaving=True,
                            close="kicked")
        case ev.MemberRemoved():
            return Delivery(kind="removed", data=room | {"reason": "left"}, to=event.user_id, leaving=True)
        case ev.RoomClosed():
            return Delivery(kind="room_closed", data=room | {"reason": event.reason.value}, leaving=True)
        case ev.LockChanged():
            return Delivery(kind="room_updated", data=room | {"locked": event.locked})
        case ev.RoleChanged():
            return Delivery(kind="role_changed", data=room | {"user_id": event.user_id, "role": event.role})
        case ev.RecordingChanged(active=True):
            return Delivery(kind="recording_started", data=room | {"recording_id": event.recording_id,
                                                                    "started_by": event.started_by})
        case ev.RecordingChanged():
            return Delivery(kind="recording_stopped", data=room | {"recording_id": event.recording_id,
                                                                    "reason": event.reason or "stopped"})
        case ev.CaptionsChanged():
            return Delivery(kind="captions", data=room | {"on": event.on, "available": event.available,
                                                           "by": event.by, "reason": event.reason})
        case ev.CaptionSpoken():
            return Delivery(kind="caption", data=room | {
                "caption_id": event.caption_id, "speaker_id": event.speaker_id,
                "display_name": event.display_name, "text": event.text, "final": event.final,
                "start_s": round(event.start_s, 3), "end_s": round(event.end_s, 3),
                "start_at": iso(event.start_at), "end_at": iso(event.end_at)})
        case ev.ActiveSpeakerChanged():
            return Delivery(kind="active_speaker", data=room | {"user_id": event.user_id})
    raise TypeError(f"no frame for {type(event).__name__}")
