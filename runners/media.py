"""The media server (SFU) as composed by both adapter families: aiortc, in this process."""

from __future__ import annotations

from adapters.webrtc.aiortc_internals import use_host_addresses
from adapters.webrtc.negotiation_input import NegotiationLimits
from adapters.webrtc.sfu import AiortcMediaServer
from adapters.inprocess.media_signals import SignalBusMediaSignals
from ports.rooms import SignalBus
from runners.settings import Settings


def aiortc_media_server(bus: SignalBus, settings: Settings) -> AiortcMediaServer:
    if settings.media_host_addresses:
        use_host_addresses(settings.media_host_addresses)
    limits = NegotiationLimits(max_sections_per_offer=settings.media_max_sections_per_offer,
                               max_sections_per_member=settings.media_max_sections_per_member,
                               max_sections_per_connection=settings.media_max_sections_per_connection,
                               allow_mdns=settings.media_allow_mdns)
    return AiortcMediaServer(SignalBusMediaSignals(bus), settings.ice_servers, limits=limits,
                             last_n=settings.media_last_n)
