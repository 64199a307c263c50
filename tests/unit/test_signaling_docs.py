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
                 me.KickedFromMeeting, me.TooManyPasswordGuesses]


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
