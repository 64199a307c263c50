"""What the SFU accepts from a member's negotiation: real SDP, a bounded number of media sections, and
no mDNS (``.local``) candidates unless the operator allows them.

- Text that is not an SDP (RFC 8866: ``v=0`` first, ``o=``, ``s=`` and ``t=`` lines, every line
  ``<letter>=<value>``, at least one well-formed ``m=`` line) is an InvalidSignal: aiortc would parse
  almost anything, "hello world" included, into an empty description and answer it.
- An offer has at most ``max_sections_per_offer`` m-sections, and a member's offers together publish
  at most ``max_sections_per_member`` audio/video sections in one room (``SfuRoom`` counts): each one
  becomes an m-line in every other member's connection, and the SFU never removes m-lines (it re-uses
  retired ones, but only for tracks of their kind and codec), so without a cap one member could grow everyone else's SDP past the signaling
  limits and cut them off.  And whatever all the members do together, no member's connection has
  more than ``max_sections_per_connection`` m-lines (``SfuPeer``): the default 24 keeps the SFU's
  offers and a browser's answers well under the 32,000-character SDP limit of the signaling
  protocol (aiortc writes about 1,150 characters per m-line).
- Resolving a ``.local`` candidate makes aioice bind port 5353 and multicast on the server's network:
  such candidates are dropped from SDPs and refused when trickled, unless ``allow_mdns``.
"""

from __future__ import annotations

import re

from attrs import frozen

from adapters.webrtc.sdp import join, kind_of, sections
from domain.rooms.errors import InvalidSignal

_LINE = re.compile(r"^[a-z]=.*$")
_M_LINE = re.compile(r"^m=[a-z]+ \d+(/\d+)? [A-Za-z0-9/]+( \S+)+$")
PUBLISHABLE = ("audio", "video")


@frozen(kw_only=True)
class NegotiationLimits:
    max_sections_per_offer: int = 8
    max_sections_per_member: int = 16
    max_sections_per_connection: int = 24
    allow_mdns: bool = False


def checked_sdp(text: str) -> tuple[list[str], list[list[str]]]:
    """The (session, media sections) of ``text``; InvalidSignal when it is not an SDP."""
    session, media = sections(text)
    if not session or session[0] != "v=0":
        raise InvalidSignal("this is not an SDP: it must start with v=0", field="sdp")
    bad = next((line for line in (*session, *(l for s in media for l in s)) if not _LINE.match(line)), None)
    if bad is not None:
        raise InvalidSignal(f"this is not an SDP: {bad[:40]!r} is not a <type>=<value> line", field="sdp")
    if not {"o", "s", "t"} <= {line[0] for line in session}:
        raise InvalidSignal("this is not an SDP: the o=, s= and t= lines are missing", field="sdp")
    if not media:
        raise InvalidSignal("the SDP has no media section", field="sdp")
    bad = next((s[0] for s in media if not _M_LINE.match(s[0])), None)
    if bad is not None:
        raise InvalidSignal(f"malformed media line {bad[:40]!r}", field="sdp")
    return session, media


def is_mdns(address: str) -> bool:
    return address.rstrip(".").lower().endswith(".local")


def _candidate_address(line: str) -> str:
    # a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
    bits = line.split()
    return bits[4] if len(bits) > 4 else ""


def without_mdns(session: list[str], media: list[list[str]], limits: NegotiationLimits) -> str:
    if limits.allow_mdns:
        return join(session, media)
    keep = [[line for line in s if not (line.startswith("a=candidate:") and is_mdns(_candidate_address(line)))]
            for s in media]
    return join(session, keep)


def checked_offer(text: str, limits: NegotiationLimits) -> tuple[str, int]:
    """(the offer to apply, how many audio/video sections it publishes); InvalidSignal when it is not
    an SDP or has more than ``max_sections_per_offer`` m-sections."""
    session, media = checked_sdp(text)
    if len(media) > limits.max_sections_per_offer:
        raise InvalidSignal(f"an offer may have at most {limits.max_sections_per_offer} media sections",
                            field="sdp", limit=limits.max_sections_per_offer)
    return without_mdns(session, media, limits), sum(1 for s in media if kind_of(s) in PUBLISHABLE)


def checked_answer(text: str, limits: NegotiationLimits) -> str:
    return without_mdns(*checked_sdp(text), limits)


def check_candidate(candidate: str, limits: NegotiationLimits) -> None:
    """InvalidSignal for a trickled ``.local`` candidate unless mDNS is allowed."""
    text = candidate.removeprefix("candidate:")
    bits = text.split()
    if not limits.allow_mdns and len(bits) > 4 and is_mdns(bits[4]):
        raise InvalidSignal("mDNS (.local) candidates are not accepted by this server", field="candidate")
