"""The published signaling schema is as strict as docs/signaling.md: what the prose requires, the schema
requires, and the parser answers with the codes the prose names."""

from __future__ import annotations

import pytest

from runners.signaling.protocol import ProtocolError, check_server, document, parse

ROOM = "cccccccc-0000-4000-8000-000000000003"
USER = "aaaaaaaa-0000-4000-8000-000000000001"
MESSAGE = "dddddddd-0000-4000-8000-000000000004"
SENT = "2030-01-07T09:00:42.425672Z"


def server(kind: str, data: dict) -> list[str]:
    return check_server({"v": 1, "type": kind, "data": data})


def test_kicked_names_who_kicked_as_a_user_id_or_null() -> None:
    assert server("kicked", {"room_id": ROOM, "by": USER}) == []
    assert server("kicked", {"room_id": ROOM, "by": None}) == []
    assert server("kicked", {"room_id": ROOM}) != []  # "room_id, by (user id or null)": always there
    assert server("kicked", {"room_id": ROOM, "by": "the host"}) != []


def test_an_ack_is_empty_or_carries_both_chat_fields() -> None:
    assert server("ack", {}) == []
    assert server("ack", {"message_id": MESSAGE, "sent_at": SENT}) == []
    assert server("ack", {"message_id": MESSAGE}) != []
    assert server("ack", {"sent_at": SENT}) != []
    assert server("ack", {"message_id": "42", "sent_at": SENT}) != []
    assert server("ack", {"message_id": MESSAGE, "sent_at": SENT, "extra": 1}) != []


@pytest.mark.parametrize("frame", ['{"v": 1, "data": {}}', '{"v": 1, "type": null}', '{"v": 1, "type": "nope"}'])
def test_a_missing_or_unknown_type_is_unknown_type_as_the_envelope_says(frame: str) -> None:
    with pytest.raises(ProtocolError) as err:
        parse(frame)
    assert err.value.code == "unknown_type"
    assert "unknown_type" in document()["$defs"]["client_envelope"]["description"]


def test_parsing_returns_the_data_as_sent() -> None:
    candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"}
    kind, re, data = parse('{"v": 1, "type": "ice_candidate", "id": "r1", "data": {"room_id": "%s", "to": "%s", '
                           '"candidate": {"candidate": "%s", "sdpMid": "0"}}}' % (ROOM, USER, candidate["candidate"]))
    assert (kind, re, data) == ("ice_candidate", "r1", {"room_id": ROOM, "to": USER, "candidate": candidate})
    assert parse('{"v": 1, "type": "ping"}') == ("ping", None, {})


def test_every_message_schema_refers_only_to_definitions_the_document_has() -> None:
    import json
    import re

    doc = document()
    refs = set(re.findall(r'"#/\$defs/(\w+)"', json.dumps(doc)))
    assert refs and refs <= set(doc["$defs"])
