"""SFU gauges, read from the SFU's own state and aiortc's stats when Prometheus scrapes, so the media
path does no metrics work per packet or frame; and NACK counts, which aiortc keeps to itself: its two
NACK paths are wrapped once per process (``count_nacks``), one counter increment per NACK packet."""

from __future__ import annotations

import functools

from collections import Counter as Tally
from typing import Any

from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtp import RTCP_RTPFB_NACK, RtcpRtpfbPacket

from adapters.metrics import instruments as m
from adapters.webrtc.sfu import AiortcMediaServer


async def scrape(sfu: AiortcMediaServer) -> None:
    states: Tally[str] = Tally()
    streams: Tally[str] = Tally()
    bitrate: Tally[tuple[str, str]] = Tally()
    packets: Tally[tuple[str, str]] = Tally()
    lost: Tally[tuple[str, str]] = Tally()
    pli = waiting = limited = 0
    layers: Tally[str] = Tally()
    rooms = list(sfu.rooms.items())
    for room_id, room in rooms:
        for peer in list(room.peers.values()):
            states[peer.pc.connectionState] += 1
            pli += sum(p.keyframe_requests for p in peer.published.values())
            for sub in list(peer.subscriptions.values()):
                if sub.active:
                    streams[sub.source.kind] += 1
                    waiting += sub.track.waiting_for_keyframe
            chosen = list(peer.layers.chosen.values()) if peer.layers is not None else []
            for layer in chosen:
                layers["paused" if layer < 0 else str(layer)] += 1
            limited += any(layer < 0 for layer in chosen)
        try:
            report = await sfu.stats(room_id)
        except Exception:  # a peer closing under the read: the next scrape sees it settled
            m.SFU_SCRAPE_ERRORS.inc()
            continue
        for participant in report:
            for t in participant.tracks:
                key = (t.kind, t.direction)
                bitrate[key] += t.bitrate_bps
                packets[key] += t.packets
                lost[key] += t.packets_lost
    m.SFU_ROOMS.set(len(rooms))
    _replace(m.SFU_PEERS, {(s,): n for s, n in states.items()}, ("new", "connecting", "connected", "failed"))
    _replace(m.SFU_STREAMS, {(k,): n for k, n in streams.items()}, ("audio", "video"))
    for gauge, tally in ((m.SFU_BITRATE, bitrate), (m.SFU_PACKETS, packets), (m.SFU_PACKETS_LOST, lost)):
        _replace(gauge, dict(tally), tuple((k, d) for k in ("audio", "video") for d in ("inbound", "outbound")))
    m.SFU_KEYFRAME_REQUESTS.set(pli)
    m.SFU_KEYFRAME_WAITS.set(waiting)
    _replace(m.SFU_VIDEO_LAYERS, {(k,): n for k, n in layers.items()}, ("0", "1", "2", "paused"))
    m.SFU_BANDWIDTH_LIMITED.set(limited)


def _replace(gauge, values, always) -> None:  # type: ignore[no-untyped-def]
    """Sets every label set seen now, zeroes those that went away; ``always`` are shown even at zero so
    dashboards and PromQL find the series before the first meeting."""
    for labels in set(always) | set(values) | {tuple(s.labels.values()) for s in _children(gauge)}:
        labels = labels if isinstance(labels, tuple) else (labels,)
        gauge.labels(*labels).set(values.get(labels, 0))


def _children(gauge):  # type: ignore[no-untyped-def]
    for metric in gauge.collect():
        for sample in metric.samples:
            yield sample


def count_nacks() -> None:
    """Counts the sequence numbers in every NACK the SFU's receivers send and its senders receive.
    Idempotent.  aiortc exposes neither (no nackCount in its stats): the wrappers call its own methods."""
    if getattr(RTCRtpReceiver, "_confero_counted", False):
        return
    send_nack = RTCRtpReceiver._send_rtcp_nack
    handle_rtcp = RTCRtpSender._handle_rtcp_packet

    # functools.wraps: aiortc_internals.find_problems reads the wrapped methods' code through __wrapped__.
    @functools.wraps(send_nack)
    async def counted_send(self: Any, media_ssrc: int, lost: list[int]) -> None:
        m.SFU_NACKS.labels("sent").inc(len(lost))
        await send_nack(self, media_ssrc, lost)

    @functools.wraps(handle_rtcp)
    async def counted_handle(self: Any, packet: Any) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            m.SFU_NACKS.labels("received").inc(len(packet.lost))
        await handle_rtcp(self, packet)

    RTCRtpReceiver._send_rtcp_nack = counted_send  # type: ignore[method-assign]
    RTCRtpSender._handle_rtcp_packet = counted_handle  # type: ignore[method-assign]
    RTCRtpReceiver._confero_counted = True  # type: ignore[attr-defined]
