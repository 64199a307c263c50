"""Keep RTP payload types and header-extension ids as first negotiated, across renegotiations.

aiortc (1.16) resets every transceiver to its own default numbering on each ``createOffer``
(opus 96, VP8 97, mid = extension 1, ...). A browser that offered first (Chromium: opus 111,
VP8 96, audio-level 1, mid 4, ...) rejects a re-offer that renumbers an m-line, or silently stops
decoding. So the SFU rewrites each offer it generates, before ``setLocalDescription``:

- every codec gets the payload type the participant's first offer gave it (RTX by its base codec);
  a codec never negotiated keeps aiortc's number unless that collides, then takes a free one, and
  keeps it for later offers;
- every header extension gets the id the first offer gave its URI; one never negotiated keeps its
  id when free, else is dropped;
- ``a=msid`` lines are replaced for the tracks named in ``msids`` (track id -> (stream, track)).

Pure text in, text out: aiortc uses the numbering of the *answer* from then on, which mirrors ours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from attrs import define, field

CodecKey = tuple[object, ...]
DYNAMIC = [*range(96, 128), *range(35, 64)]
_EXTMAP = re.compile(r"^a=extmap:(\d+)(/\w+)? (\S+)(.*)$")
_PT_LINE = re.compile(r"^a=(rtpmap|rtcp-fb|fmtp):(\d+)(.*)$")


def sections(text: str) -> tuple[list[str], list[list[str]]]:
    """(session lines, [m-section lines]) of an SDP."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line]
    session: list[str] = []
    media: list[list[str]] = []
    for line in lines:
        if line.startswith("m="):
            media.append([line])
        elif media:
            media[-1].append(line)
        else:
            session.append(line)
    return session, media


def join(session: list[str], media: list[list[str]]) -> str:
    return "\r\n".join([*session, *(line for section in media for line in section)]) + "\r\n"


def kind_of(section: list[str]) -> str:
    return section[0][2:].split(" ", 1)[0]


def codec_keys(section: list[str]) -> dict[int, CodecKey]:
    """payload type -> what it means, independent of its number."""
    rtpmap: dict[int, tuple[str, int, int]] = {}
    fmtp: dict[int, dict[str, str]] = {}
    for line in section:
        m = _PT_LINE.match(line)
        if m is None:
            continue
        pt, rest = int(m.group(2)), m.group(3).strip()
        if m.group(1) == "rtpmap":
            name, _, tail = rest.partition("/")
            clock, _, channels = tail.partition("/")
            rtpmap[pt] = (name.lower(), int(clock or 0), int(channels or 1))
        elif m.group(1) == "fmtp":
            fmtp[pt] = dict(p.strip().partition("=")[::2] for p in rest.split(";") if p.strip())

    def key(pt: int, depth: int = 0) -> CodecKey:
        if pt not in rtpmap:
            return ("static", pt)
        name, clock, channels = rtpmap[pt]
        params = fmtp.get(pt, {})
        if name == "rtx" and depth == 0 and params.get("apt", "").isdigit():
            return ("rtx", clock, key(int(params["apt"]), 1))
        if name == "h264":
            return (name, clock, channels, params.get("packetization-mode", "0"),
                    params.get("profile-level-id", "").lower()[:2])
        return (name, clock, channels)

    return {pt: key(pt) for pt in formats(section)}


def formats(section: list[str]) -> list[int]:
    return [int(f) for f in section[0].split()[3:] if f.isdigit()]


def extensions(section: list[str]) -> dict[str, int]:
    """header-extension URI -> id."""
    return {m.group(3): int(m.group(1)) for line in section if (m := _EXTMAP.match(line))}


@define
class Numbering:
    """Per media kind: codec -> payload type and extension URI -> id, as first negotiated."""

    payload_types: dict[str, dict[CodecKey, int]] = field(factory=dict)
    extension_ids: dict[str, dict[str, int]] = field(factory=dict)

    @classmethod
    def from_sdp(cls, text: str) -> Numbering:
        numbering = cls()
        for section in sections(text)[1]:
            kind = kind_of(section)
            if kind not in ("audio", "video"):
                continue
            pts = numbering.payload_types.setdefault(kind, {})
            for pt, key in codec_keys(section).items():
                pts.setdefault(key, pt)
            ids = numbering.extension_ids.setdefault(kind, {})
            for uri, ext_id in extensions(section).items():
                ids.setdefault(uri, ext_id)
        return numbering

    def _pt_owners(self) -> dict[int, CodecKey]:
        return {pt: key for pts in self.payload_types.values() for key, pt in pts.items()}

    def _id_owners(self) -> dict[int, str]:
        return {i: uri for ids in self.extension_ids.values() for uri, i in ids.items()}

    def payload_type(self, kind: str, key: CodecKey, proposed: int) -> int:
        pts = self.payload_types.setdefault(kind, {})
        if key in pts:
            return pts[key]
        owners = self._pt_owners()
        same = [pt for pt, k in owners.items() if k == key]  # the same codec, known under another kind
        if same:
            chosen = same[0]
        elif proposed not in owners:
            chosen = proposed
        else:
            chosen = next(pt for pt in DYNAMIC if pt not in owners)
        pts[key] = chosen
        return chosen

    def extension_id(self, kind: str, uri: str, proposed: int) -> int | None:
        ids = self.extension_ids.setdefault(kind, {})
        if uri in ids:
            return ids[uri]
        owners = self._id_owners()
        known = [i for i, u in owners.items() if u == uri]
        chosen = known[0] if known else (proposed if proposed not in owners else None)
        if chosen is not None:
            ids[uri] = chosen
        return chosen


def pin(text: str, numbering: Numbering, msids: Mapping[str, tuple[str, str]] | None = None) -> str:
    """``text`` with the numbering of ``numbering`` (which learns numbers it did not have)."""
    session, media = sections(text)
    out = []
    for section in media:
        kind = kind_of(section)
        out.append(_pin_section(section, kind, numbering, msids or {}) if kind in ("audio", "video") else section)
    return join(session, out)


def _pin_section(section: list[str], kind: str, numbering: Numbering,
                 msids: Mapping[str, tuple[str, str]]) -> list[str]:
    keys = codec_keys(section)
    new_pt = {pt: numbering.payload_type(kind, key, pt) for pt, key in keys.items()}
    head = section[0].split()
    lines = [" ".join([*head[:3], *(str(new_pt.get(int(f), f)) if f.isdigit() else f for f in head[3:])])]
    for line in section[1:]:
        if (m := _PT_LINE.match(line)) is not None:
            pt, rest = int(m.group(2)), m.group(3)
            if m.group(1) == "fmtp":
                rest = re.sub(r"apt=(\d+)", lambda a: f"apt={new_pt.get(int(a.group(1)), a.group(1))}", rest)
            line = f"a={m.group(1)}:{new_pt.get(pt, pt)}{rest}"
        elif (m := _EXTMAP.match(line)) is not None:
            ext_id = numbering.extension_id(kind, m.group(3), int(m.group(1)))
            if ext_id is None:
                continue
            line = f"a=extmap:{ext_id}{m.group(2) or ''} {m.group(3)}{m.group(4)}"
        elif line.startswith("a=msid:"):
            parts = line[len("a=msid:"):].split()
            if len(parts) == 2 and parts[1] in msids:
                line = "a=msid:" + " ".join(msids[parts[1]])
        lines.append(line)
    return lines


def directions(text: str) -> dict[str, str]:
    """mid -> direction of each m-section."""
    out = {}
    for section in sections(text)[1]:
        mid = next((line[6:] for line in section if line.startswith("a=mid:")), "")
        out[mid] = next((line[2:] for line in section if line[2:] in ("sendrecv", "sendonly", "recvonly", "inactive")),
                        "sendrecv")
    return out


def msid_of(text: str) -> dict[str, str]:
    """mid -> msid ("stream track") of each m-section that has one."""
    out = {}
    for section in sections(text)[1]:
        mid = next((line[6:] for line in section if line.startswith("a=mid:")), "")
        msid = next((line[7:] for line in section if line.startswith("a=msid:")), None)
        if msid is not None:
            out[mid] = msid
    return out


# --- RID simulcast (RFC 8853 / 8851) --------------------------------------------------------------

RID_EXTENSIONS = ("urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
                  "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id")


def _mid(section: list[str]) -> str:
    return next((line[6:] for line in section if line.startswith("a=mid:")), "")


def simulcast_rids(text: str) -> dict[str, tuple[str, ...]]:
    """mid -> the rids a section of an offer sends as simulcast (``a=simulcast:send`` whose streams have
    ``a=rid:<rid> send`` lines), in the offer's order; sections without simulcast are left out. Of a
    stream's alternatives only the first is taken; a paused one (``~rid``) is kept."""
    out: dict[str, tuple[str, ...]] = {}
    for section in sections(text)[1]:
        sent = {line[6:].split()[0] for line in section
                if line.startswith("a=rid:") and len(line[6:].split()) > 1 and line[6:].split()[1] == "send"}
        spec = next((line[len("a=simulcast:"):] for line in section if line.startswith("a=simulcast:")), None)
        if spec is None or not sent:
            continue
        words = spec.split()
        rids: list[str] = []
        for direction, streams in zip(words[::2], words[1::2]):
            if direction == "send":
                rids += [s.split(",")[0].lstrip("~") for s in streams.split(";")]
        rids = [r for r in rids if r in sent]
        if len(rids) > 1:
            out[_mid(section)] = tuple(rids)
    return out


def rid_extensions(text: str, mid: str) -> list[tuple[int, str]]:
    """(id, uri) of the rtp-stream-id / repaired-rtp-stream-id extmaps of section ``mid``."""
    for section in sections(text)[1]:
        if _mid(section) == mid:
            ids = extensions(section)
            return [(ids[uri], uri) for uri in RID_EXTENSIONS if uri in ids]
    return []


def receive_simulcast(text: str, rids: Mapping[str, tuple[str, ...]],
                      extension_ids: Mapping[str, int]) -> str:
    """``text`` (the SFU's answer or offer) with, in each section whose mid is in ``rids``: the rid
    header extensions (``extension_ids``: uri -> id; added when missing), ``a=rid:<rid> recv`` lines and
    ``a=simulcast:recv r1;r2;...``. Other sections are unchanged."""
    if not rids:
        return text
    session, media = sections(text)
    out = []
    for section in media:
        mid = _mid(section)
        if mid not in rids:
            out.append(section)
            continue
        lines = [line for line in section if not line.startswith(("a=rid:", "a=simulcast:"))]
        have = extensions(lines)
        ext_lines = [f"a=extmap:{extension_ids[uri]} {uri}" for uri in RID_EXTENSIONS
                     if uri in extension_ids and uri not in have]
        last_ext = max((i for i, line in enumerate(lines) if line.startswith(("a=extmap:", "a=mid:"))), default=0)
        lines[last_ext + 1:last_ext + 1] = ext_lines
        lines += [f"a=rid:{r} recv" for r in rids[mid]] + ["a=simulcast:recv " + ";".join(rids[mid])]
        out.append(lines)
    return join(session, out)


PUBLISH_BITRATE_CODECS = ("vp8", "vp9", "h264", "av1")


def publish_bitrates(text: str, mids: set[str] | frozenset[str], start_kbps: int, max_kbps: int) -> str:
    """``text`` (the SFU's answer or offer) with ``x-google-start-bitrate`` / ``x-google-max-bitrate``
    (kbit/s, Chromium's send-side start and ceiling) on the video codecs of the sections whose mid is in
    ``mids`` (what the participant publishes); other sections unchanged. Chromium starts near the
    start rate instead of 300 kbit/s, so a 720p simulcast sends its upper layers within seconds;
    aiortc and Firefox ignore these parameters."""
    if not mids:
        return text
    extra = {"x-google-start-bitrate": str(start_kbps), "x-google-max-bitrate": str(max_kbps)}
    session, media = sections(text)
    out = []
    for section in media:
        if kind_of(section) != "video" or _mid(section) not in mids:
            out.append(section)
            continue
        names = {int(m.group(2)): m.group(3).strip().partition("/")[0].lower()
                 for line in section if (m := _PT_LINE.match(line)) and m.group(1) == "rtpmap"}
        wanted = {pt for pt, name in names.items() if name in PUBLISH_BITRATE_CODECS}
        lines, done = [], set()
        for line in section:
            m = _PT_LINE.match(line)
            if m and m.group(1) == "fmtp" and int(m.group(2)) in wanted:
                pt = int(m.group(2))
                params = [p.strip() for p in m.group(3).split(";") if p.strip()
                          and p.strip().partition("=")[0] not in extra]
                line = f"a=fmtp:{pt} " + ";".join(params + [f"{k}={v}" for k, v in extra.items()])
                done.add(pt)
            lines.append(line)
        for pt in sorted(wanted - done):  # no fmtp line yet: one after the codec's rtpmap
            at = next(i for i, line in enumerate(lines) if line.startswith(f"a=rtpmap:{pt} "))
            lines.insert(at + 1, f"a=fmtp:{pt} " + ";".join(f"{k}={v}" for k, v in extra.items()))
        out.append(lines)
    return join(session, out)
