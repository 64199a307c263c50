"""What members send the SFU in negotiation cannot break the SFU or anybody else (issue 9, class 7),
and a member that closes its connection is removed like one whose connection failed (issue 8).

Runs like the other WebRTC tests: pytest starts ``python -m tests.integration.test_sfu_negotiation_input
SCENARIO`` under ``unshare -n``; the scenario runs ``AiortcMediaServer`` in process with aiortc clients
that negotiate with it through a MediaSignals that hands the SFU's signals to them, and prints a RESULT.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import defaultdict
from typing import Any

import pytest

from tests.support.netns import allow_loopback_candidates, emit_result, require_unshare, run_module

MODULE = "tests.integration.test_sfu_negotiation_input"
ROOM = "00000000-0000-4000-8000-00000000a001"
SFU = "00000000-0000-4000-8000-00000000f00d"
SDP_LIMIT = 32_000  # docs/signaling.schema.json: maxLength of every sdp
FRAME_LIMIT = 64 * 1024  # APP_WS_MAX_FRAME_BYTES


@pytest.fixture
def netns_capable() -> None:
    require_unshare()


needs_netns = pytest.mark.usefixtures("netns_capable")


# --- inside the namespace ----------------------------------------------------------------------------

class Signals:
    """MediaSignals that queue what the SFU sends, per member."""

    def __init__(self) -> None:
        self.inbox: dict[str, asyncio.Queue[tuple[str, dict[str, Any]]]] = defaultdict(asyncio.Queue)

    async def to_member(self, room_id: str, user_id: str, kind: str, payload: Any) -> None:
        await self.inbox[user_id].put((kind, dict(payload)))

    async def active_speaker(self, room_id: str, user_id: str) -> None:
        pass


def frame_size(kind: str, sdp: str) -> int:
    """The size of the signaling frame that would carry this SDP (docs/signaling.md)."""
    return len(json.dumps({"v": 1, "type": kind, "data": {"room_id": ROOM, "from": SFU, "sdp": sdp}}).encode())


def m_lines(sdp: str) -> int:
    return sum(1 for line in sdp.splitlines() if line.startswith("m="))


class Member:
    """A well-behaved client: publishes audio and video, answers every SFU offer."""

    def __init__(self, name: str, server: Any, signals: Signals) -> None:
        self.name, self.server, self.signals = name, server, signals
        self.pc: Any = None
        self.offers: list[str] = []
        self.answers: list[str] = []
        self.errors: list[str] = []
        self._task: asyncio.Task[None] | None = None

    async def join(self) -> None:
        from aiortc import AudioStreamTrack, RTCPeerConnection, RTCSessionDescription

        from tests.support.webrtc_rig import MarkedVideoTrack, connected

        self.pc = RTCPeerConnection()
        self.pc.addTransceiver(AudioStreamTrack(), direction="sendrecv")
        self.pc.addTransceiver(MarkedVideoTrack(5), direction="sendrecv")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.server.signal(ROOM, self.name, "offer", {"sdp": self.pc.localDescription.sdp})
        kind, payload = await asyncio.wait_for(self.signals.inbox[self.name].get(), 10)
        assert kind == "answer", kind
        await self.pc.setRemoteDescription(RTCSessionDescription(payload["sdp"], "answer"))
        self._task = asyncio.ensure_future(self._answer_offers())
        await connected(self.pc)

    async def _answer_offers(self) -> None:
        from aiortc import RTCSessionDescription

        while True:
            kind, payload = await self.signals.inbox[self.name].get()
            if kind != "offer":
                continue
            self.offers.append(payload["sdp"])
            await self.pc.setRemoteDescription(RTCSessionDescription(payload["sdp"], "offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            self.answers.append(self.pc.localDescription.sdp)
            try:
                await self.server.signal(ROOM, self.name, "answer", {"sdp": self.pc.localDescription.sdp})
            except Exception as exc:
                self.errors.append(repr(exc))

    async def settled(self, timeout: float = 20) -> None:
        """Until the SFU has nothing more to offer this member."""
        deadline = time.monotonic() + timeout
        while True:
            if self.server.rooms[ROOM].peers[self.name].negotiation_settled:
                return
            assert time.monotonic() < deadline, f"{self.name}: the SFU never settled"
            await asyncio.sleep(0.1)

    def report(self) -> dict[str, Any]:
        return {"state": self.pc.connectionState, "offers": len(self.offers), "errors": self.errors,
                "m_lines": m_lines(self.offers[-1]) if self.offers else 0,
                "largest_offer": max((len(o) for o in self.offers), default=0),
                "largest_answer": max((len(a) for a in self.answers), default=0),
                "largest_frame": max((frame_size("offer", o) for o in self.offers), default=0)}

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self.pc is not None:
            await self.pc.close()


async def offer_from_scratch(sections: int, kinds: tuple[str, ...] = ("audio", "video")) -> str:
    """What a client that makes a fresh connection offers: ``sections`` sendrecv m-lines."""
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection()
    for i in range(sections):
        pc.addTransceiver(kinds[i % len(kinds)], direction="sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def try_signal(server: Any, user: str, kind: str, payload: dict[str, Any]) -> str | None:
    """None when the SFU took the signal, else the error's class name and field."""
    from domain.shared.errors import DomainError

    try:
        await server.signal(ROOM, user, kind, payload)
    except DomainError as err:
        return f"{type(err).__name__}:{err.details.get('field')}"
    return None


def new_server(**limits: Any) -> tuple[Any, Signals]:
    from adapters.webrtc.negotiation_input import NegotiationLimits
    from adapters.webrtc.sfu import AiortcMediaServer

    signals = Signals()
    return AiortcMediaServer(signals, limits=NegotiationLimits(**limits)), signals


async def scenario_reoffers() -> dict[str, Any]:
    """One member makes a fresh 2-track connection 14 times; then one offers 150 sections."""
    server, signals = new_server()
    victims = [Member("ann", server, signals), Member("bob", server, signals)]
    try:
        for v in victims:
            await v.join()
        refusals = []
        for _ in range(14):
            refusals.append(await try_signal(server, "mallory", "offer", {"sdp": await offer_from_scratch(2)}))
            for v in victims:
                await v.settled()
        after_one = {v.name: v.report()["m_lines"] for v in victims}
        second = []  # a second attacker: together they would need 2 + 2 + 16 + 16 m-lines
        for _ in range(8):
            second.append(await try_signal(server, "mallet", "offer", {"sdp": await offer_from_scratch(2)}))
            for v in victims:
                await v.settled()
        from adapters.webrtc.sdp import directions, msid_of

        still_from_each_other = {}
        for v, other in zip(victims, reversed(victims)):
            last = v.offers[-1]
            still_from_each_other[v.name] = sorted(directions(last)[mid] for mid, msid in msid_of(last).items()
                                                   if msid.startswith(other.name + " "))
        huge = await offer_from_scratch(150)
        offers_before = [len(v.offers) for v in victims]
        refused_huge = await try_signal(server, "trudy", "offer", {"sdp": huge})
        for v in victims:
            await v.settled()
        return {"refusals": refusals, "m_lines_after_one_attacker": after_one, "second_attacker": second,
                "from_each_other": still_from_each_other, "huge_offer": {"chars": len(huge), "refused": refused_huge,
                                                     "offers_it_caused": [len(v.offers) - b for v, b in
                                                                          zip(victims, offers_before)]},
                "victims": {v.name: v.report() for v in victims}}
    finally:
        for v in victims:
            await v.close()
        await server.close()


async def scenario_not_sdp() -> dict[str, Any]:
    server, signals = new_server()
    ann = Member("ann", server, signals)
    try:
        out: dict[str, Any] = {"offer": await try_signal(server, "eve", "offer", {"sdp": "hello world"}),
                               "eve_got": signals.inbox["eve"].qsize()}
        out["offer_without_media"] = await try_signal(
            server, "eve", "offer", {"sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"})
        await ann.join()
        from domain.rooms.errors import InvalidSignal

        try:
            await server.signal(ROOM, "ann", "answer", {"sdp": "hello world"})
        except InvalidSignal as err:
            out["answer"] = [err.details.get("field"), err.message]
        out["ann_still_connected"] = ann.pc.connectionState
        return out
    finally:
        await ann.close()
        await server.close()


MDNS_CANDIDATE = "candidate:1 1 udp 2122260223 3f0c5a2e-1b2c-4d5e-8f90-123456789abc.local 54321 typ host"


async def scenario_mdns(allow: bool) -> dict[str, Any]:
    import aioice.ice

    resolved: list[str] = []

    class NoNetworkMdns:
        async def resolve(self, hostname: str) -> None:
            resolved.append(hostname)
            return None

    async def record(subscriber: object) -> NoNetworkMdns:  # instead of binding port 5353
        return NoNetworkMdns()

    aioice.ice.get_or_create_mdns_protocol = record
    server, signals = new_server(allow_mdns=allow)
    try:
        offer = await offer_from_scratch(2)  # a browser lists its candidates in every bundled section
        with_mdns = offer.replace("a=end-of-candidates", f"a={MDNS_CANDIDATE}\r\na=end-of-candidates")
        assert with_mdns.count(".local") == 2
        out = {"offer": await try_signal(server, "ann", "offer", {"sdp": with_mdns})}
        await asyncio.sleep(0.5)
        out["resolved_after_offer"] = list(resolved)
        out["trickled"] = await try_signal(server, "ann", "ice_candidate", {"candidate": {
            "candidate": MDNS_CANDIDATE, "sdpMid": "0", "sdpMLineIndex": 0}})
        await asyncio.sleep(0.5)
        out["resolved"] = list(resolved)
        return out
    finally:
        await server.close()


async def scenario_closed() -> dict[str, Any]:
    """A member closes its connection: the SFU removes it and re-offers the others."""
    server, signals = new_server()
    ann, bob = Member("ann", server, signals), Member("bob", server, signals)
    try:
        await ann.join()
        await bob.join()
        await ann.settled()
        offers_before = len(ann.offers)
        await bob.close()  # DTLS close_notify reaches the SFU; ICE would take ~30 s more to notice
        deadline = time.monotonic() + 15
        while len(ann.offers) == offers_before and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        from adapters.webrtc.sdp import directions, msid_of

        last = ann.offers[-1] if len(ann.offers) > offers_before else ""
        bob_lines = {mid for mid, msid in msid_of(last).items() if msid.startswith("bob ")}
        return {"offers_after_close": len(ann.offers) - offers_before,
                "bob_directions": sorted(directions(last)[mid] for mid in bob_lines),
                "members_left": sorted(server.rooms[ROOM].peers) if ROOM in server.rooms else [],
                "connections": server.connection_count(), "ann": ann.pc.connectionState}
    finally:
        await ann.close()
        await server.close()


SCENARIOS = {"reoffers": scenario_reoffers, "not_sdp": scenario_not_sdp, "closed": scenario_closed,
             "mdns_refused": lambda: scenario_mdns(False), "mdns_allowed": lambda: scenario_mdns(True)}


# --- tests -------------------------------------------------------------------------------------------

def run(scenario: str) -> dict[str, Any]:
    return run_module(MODULE, scenario, timeout=240)[0]


@needs_netns
def test_text_that_is_not_sdp_is_refused_as_an_invalid_signal_and_answered_with_nothing() -> None:
    result = run("not_sdp")
    assert result["offer"] == "InvalidSignal:sdp"
    assert result["eve_got"] == 0
    assert result["offer_without_media"] == "InvalidSignal:sdp"
    assert result["answer"] == ["sdp", "this is not an SDP: it must start with v=0"]
    assert result["ann_still_connected"] == "connected"


@needs_netns
def test_reoffers_and_a_huge_offer_never_grow_the_others_past_the_signaling_limits() -> None:
    result = run("reoffers")
    # 2 sections per offer, at most 16 per member (the defaults): 8 offers pass, the 6 after are refused
    assert result["refusals"] == [None] * 8 + ["InvalidSignal:sdp"] * 6
    assert result["huge_offer"]["refused"] == "InvalidSignal:sdp"
    assert result["huge_offer"]["offers_it_caused"] == [0, 0]
    # its own two, the other victim's two, mallory's current two: each fresh connection's tracks re-use the
    # m-lines its previous one retired (docs/signaling.md 13.6), so re-offers no longer grow the others;
    # a second attacker adds its own two the same way, and the victims keep each other's media
    assert result["m_lines_after_one_attacker"] == {"ann": 6, "bob": 6}
    assert result["second_attacker"] == [None] * 8
    assert result["from_each_other"] == {"ann": ["sendonly", "sendonly"], "bob": ["sendonly", "sendonly"]}
    for name, victim in result["victims"].items():
        assert victim["state"] == "connected", name
        assert victim["errors"] == [], name
        assert victim["m_lines"] == 8, name
        assert victim["largest_offer"] < SDP_LIMIT and victim["largest_answer"] < SDP_LIMIT, (name, victim)
        assert victim["largest_frame"] < FRAME_LIMIT, (name, victim)


@needs_netns
def test_mdns_candidates_are_never_resolved_by_default() -> None:
    result = run("mdns_refused")
    assert result["offer"] is None  # the offer is taken, without its .local candidate
    assert result["trickled"] == "InvalidSignal:candidate"
    assert result["resolved"] == []


@needs_netns
def test_mdns_candidates_are_resolved_when_the_operator_allows_them() -> None:
    result = run("mdns_allowed")
    assert result["offer"] is None and result["trickled"] is None
    assert result["resolved"] and all(h.endswith(".local") for h in result["resolved"])


@needs_netns
def test_a_member_that_closes_its_connection_is_removed_and_the_others_renegotiate() -> None:
    result = run("closed")
    assert result["offers_after_close"] >= 1
    assert result["bob_directions"] == ["inactive", "inactive"]
    assert result["members_left"] == ["ann"] and result["connections"] == 1
    assert result["ann"] == "connected"


if __name__ == "__main__":
    allow_loopback_candidates()
    emit_result(asyncio.run(SCENARIOS[sys.argv[1]]()))
