"""The media server (SFU) as composed by both adapter families: aiortc in this process, or the SFU of
one media node over gRPC (APP_MEDIA_GRPC_TARGET; the node itself is ``python -m runners.media``, whose
composition is runners/media_node/)."""

from __future__ import annotations

import sys
from typing import Any

from adapters.webrtc.aiortc_internals import use_host_addresses
from adapters.webrtc.layer_control import BandwidthSettings
from adapters.webrtc.negotiation_input import NegotiationLimits
from adapters.webrtc.sfu import AiortcMediaServer
from adapters.inprocess.media_signals import SignalBusMediaSignals
from ports.media import MediaServer
from ports.rooms import SignalBus
from runners.settings import Settings


def aiortc_media_server(bus: SignalBus, settings: Settings) -> AiortcMediaServer:
    if settings.media_host_addresses:
        use_host_addresses(settings.media_host_addresses)
    limits = NegotiationLimits(max_sections_per_offer=settings.media_max_sections_per_offer,
                               max_sections_per_member=settings.media_max_sections_per_member,
                               max_sections_per_connection=settings.media_max_sections_per_connection,
                               allow_mdns=settings.media_allow_mdns)
    bandwidth = BandwidthSettings(start_bps=settings.media_bwe_start_bps,
                                  audio_reserve_bps=settings.media_bwe_audio_reserve_bps,
                                  up_hold=settings.media_layer_up_hold)
    return AiortcMediaServer(SignalBusMediaSignals(bus), settings.ice_servers, limits=limits,
                             last_n=settings.media_last_n, publish_max_bps=settings.media_publish_max_bps,
                             bandwidth=bandwidth if settings.media_bandwidth_estimation else None)


def media_server(bus: SignalBus, settings: Settings) -> MediaServer:
    """The SFU in this process, or with APP_MEDIA_GRPC_TARGET the one of that media node (its signals to
    members come over ``bus``, which must then be shared: Redis)."""
    if not settings.media_grpc_target:
        return aiortc_media_server(bus, settings)
    from adapters.grpc.media import GrpcMediaServer
    from runners.rpc.clients import call_policy
    from runners.rpc.server import service_secrets

    return GrpcMediaServer.to(settings.media_grpc_target, token=service_secrets(settings)[0],
                              policy=call_policy(settings))


def in_process(media: Any) -> bool:
    """Whether ``media`` is an SFU of this process (what the recorder and the caption tap need)."""
    return isinstance(media, AiortcMediaServer)


if __name__ == "__main__":  # python -m runners.media: a media node
    from runners.media_node.main import main

    sys.exit(main())
