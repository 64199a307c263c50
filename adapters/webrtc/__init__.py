"""WebRTC adapters on aiortc: forwarding of encoded media between peer connections (an SFU core).

Importing this package checks that the installed aiortc still has the private names it relies on
(see ``aiortc_internals``) and raises ``AiortcInternalsChanged`` otherwise.
"""

from adapters.webrtc.aiortc_internals import AiortcInternalsChanged
from adapters.webrtc.forwarding import (
    ForwardedTrack,
    ForwardingPacketizer,
    LayerInfo,
    PublishedTrack,
    ReceiverAlreadyStarted,
    attach,
    forward,
    tap,
)

__all__ = ["AiortcInternalsChanged", "ForwardedTrack", "ForwardingPacketizer", "LayerInfo", "PublishedTrack",
           "ReceiverAlreadyStarted", "attach", "forward", "tap"]
