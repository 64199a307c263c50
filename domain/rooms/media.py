"""The room's media server (SFU) as the room sees it: its fixed peer id and what it reports.

Members negotiate media with the SFU over the same offer / answer / ice_candidate signals they use
between themselves, addressed to ``SFU_PEER_ID`` (a valid UUID, so the protocol's schemas hold).
"""

from __future__ import annotations

from attrs import frozen

from domain.shared.ids import UserId

SFU_PEER_ID = UserId("00000000-0000-4000-8000-00000000f00d")
MEDIA_SIGNALS = ("offer", "answer", "ice_candidate")


@frozen(kw_only=True)
class TrackStats:
    """One RTP stream at the SFU: ``inbound`` = published by the participant, ``outbound`` = another
    member's track forwarded to the participant (``publisher_id`` says whose)."""

    publisher_id: UserId
    kind: str
    direction: str
    active: bool
    bitrate_bps: int
    packets: int
    packets_lost: int
    rtt_ms: float | None
    frames_forwarded: int
    # outbound video (issue 16): the simulcast layer chosen for the subscriber (0 = lowest; None when
    # not decided), and whether its bandwidth estimate pauses it
    layer: int | None = None
    paused_for_bandwidth: bool = False


@frozen(kw_only=True)
class ParticipantMediaStats:
    user_id: UserId
    connection_state: str
    tracks: tuple[TrackStats, ...]
    bandwidth_bps: int | None = None  # the SFU's estimate of what the link to the participant carries


@frozen(kw_only=True)
class MediaNodeLoad:
    """What a media node reports about itself (issue 14): ``streams`` forwarded now, ``cpu`` its share of
    the host (0-1), the rooms and member connections it holds, and whether it drains."""

    streams: int
    cpu: float
    rooms: int
    connections: int
    draining: bool
