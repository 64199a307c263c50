"""docs/signaling.schema.json and docs/signaling.md stay in step with the code that speaks the protocol."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from domain.meetings import errors as me
from domain.rooms import errors as re_
from domain.shared.errors import ConcurrentModification, Unavailable
from domain.users.errors import InvalidToken
from runners.signaling.connection import CLOSE_CODES
from runners.signaling.protocol import CLIENT, SERVER, document

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "signaling.schema.json"
DOC = ROOT / "docs" / "signaling.md"
SIGNALING_CODE = [ROOT / "runners" / "signaling" / n for n in ("protocol.py", "endpoint.py", "tasks.py", "hub.py")]
# Raised inside the runner, not by a literal call: the envelope checks and the catch-all.
PROTOCOL_CODES = {"malformed_json", "unknown_type", "invalid_message", "not_in_room", "rate_limited",
                  "unsupported_frame", "internal"}
# Domain errors a socket command can end in (join_room admits through the meeting domain).
DOMAIN_ERRORS = [re_.NotInRoom, re_.PeerNotInRoom, re_.InvalidSignal, InvalidToken, ConcurrentModification,
                 Unavailable, me.MeetingNotFound, me.MeetingEnded, me.MeetingCancelled, me.MeetingFull,
                 me.MeetingLocked, me.InvitationRequired, me.PasswordRequired, me.WrongMeetingPassword,
                 me.KickedFromMeeting, me.TooManyPasswordGuesses, me.NotMeetingHost]


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def headings_and_tables() -> str:
    """The doc's headings and table rows: where a message type counts as documented."""
    return "\n".join(line for line in doc_text().splitlines() if line.startswith(("#", "|")))


def test_the_committed_schema_is_exactly_what_the_protocol_module_prints() -> None:
    printed = subprocess.run([sys.executable, "-m", "runners.signaling.protocol"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
    assert SCHEMA.read_text(encoding="utf-8") == printed, (
        "docs/signaling.schema.json is stale: run "
        "`python -m runners.signaling.protocol > docs/signaling.schema.json`")
    assert json.loads(printed) == json.loads(json.dumps(document()))


def test_every_client_and_server_message_type_has_a_heading_or_a_table_row() -> None:
    documented = set(re.findall(r"`([a-z_]+)`", headings_and_tables()))
    missing = sorted((set(CLIENT) | set(SERVER)) - documented)
    assert not missing, f"message types missing from the headings and tables of docs/signaling.md: {missing}"


def test_every_close_code_is_mentioned() -> None:
    text = doc_text()
    missing = sorted({code for code in CLOSE_CODES.values() if not re.search(rf"\b{code}\b", text)})
    assert not missing, f"close codes missing from docs/signaling.md: {missing}"


def test_every_error_code_a_client_can_receive_is_in_a_table() -> None:
    literal = re.compile(r"""(?:\.error|ProtocolError)\(\s*"([a-z_]+)\"""")
    sent = {code for path in SIGNALING_CODE for code in literal.findall(path.read_text(encoding="utf-8"))}
    codes = sent | PROTOCOL_CODES | {err.code for err in DOMAIN_ERRORS}
    documented = set(re.findall(r"`([a-z_]+)`", headings_and_tables()))
    missing = sorted(codes - documented)
    assert not missing, f"error codes missing from the tables of docs/signaling.md: {missing}"


def test_the_doc_links_the_schema() -> None:
    assert "signaling.schema.json" in doc_text()


def section(number: str) -> str:
    """The text of one numbered section (up to the next heading of the same or a higher level)."""
    text = doc_text()
    start = re.search(rf"^(#+) {re.escape(number)}\.? ", text, re.M)
    assert start, f"no section {number}"
    level = len(start.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", re.M).search(text, start.end())
    return text[start.start():end.start() if end else len(text)]


def error_rows() -> dict[str, str]:
    rows = re.findall(r"^\| `([a-z_]+)` \|(.*)\|\s*$", section("5"), re.M)
    return {code: rest for code, rest in rows}


def test_a_resume_and_a_takeover_are_described_with_the_member_resumed_the_server_sends() -> None:
    for where in (section("3"), section("9.3")):
        assert "member_resumed" in where
        assert "told nothing" not in where and "**no** event" not in where


def test_the_error_table_names_the_details_the_server_sends() -> None:
    sent = {"rate_limited": {"retry_after"}, "not_in_room": {"room_id"}, "peer_not_in_room": {"room_id", "peer"},
            "meeting_full": {"capacity"}, "too_many_rooms": {"limit"}, "too_many_sockets": {"limit"}}
    rows = error_rows()
    for code, keys in sent.items():
        details = rows[code].rsplit("|", 1)[-1]
        missing = {k for k in keys if k not in details}
        assert not missing, f"{code}: details {missing} not documented"


def test_the_renewal_interval_is_stated_once_with_its_rounding() -> None:
    formula = "max(1, min(5, ⌊"
    assert formula in section("9.2") and formula in section("14")
    assert "**5 s** (`welcome.data.heartbeat_seconds`)" not in doc_text()


def test_the_signaling_process_routes_and_the_aiortc_caveats_are_documented() -> None:
    text = doc_text()
    assert "python -m runners.signaling" in section("1") and "GET /health" in section("1")
    assert "a=msid" in section("13.2") and "aiortc" in section("13")
    assert "127.0.0.1" in section("13.1")
