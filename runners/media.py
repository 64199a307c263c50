"""The media server (SFU) as composed by both adapter families: aiortc, in this process."""

from __future__ import annotations

from adapters.webrtc.aiortc_internals import use_host_addresses
from adapters.webrtc.sfu import AiortcMediaServer
from adapters.inprocess.media_signals import SignalBusMediaSignals
from ports.rooms import SignalBus
from runners.settings import Settings


def aiortc_media_server(bus: SignalBus, settings: Settings) -> AiortcMediaServer:
    if settings.media_host_addresses:
        use_host_addresses(settings.media_host_addresses)
    return AiortcMediaServer(SignalBusMediaSignals(bus), settings.ice_servers)
