"""Every registered domain event survives the trip through its wire parts (name, id, time, JSON)."""

from __future__ import annotations

import datetime as dt
import json

import attrs
import pytest

import domain.meetings.events  # noqa: F401  (registers the classes)
import domain.users.events  # noqa: F401
from domain.shared.events import UnknownEvent, _REGISTRY, event_from_record

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)


def an_instance(cls: type) -> object:
    values: dict[str, object] = {}
    for f in attrs.fields(cls):
        if f.name in ("occurred_at", "event_id"):
            continue
        if "datetime" in str(f.type):  # test events (tests/contracts/events.py) have time fields too
            values[f.name] = NOW
        else:
            values[f.name] = ("a", "b") if "tuple" in str(f.type) else f"{f.name}-value"
    return cls(occurred_at=NOW, **values)


@pytest.mark.parametrize("name", sorted(_REGISTRY))
def test_an_event_comes_back_equal_from_its_json_record(name: str) -> None:
    event = an_instance(_REGISTRY[name])
    payload = json.loads(json.dumps(event.payload()))
    assert event_from_record(name, event.event_id, event.occurred_at, payload) == event


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(UnknownEvent):
        event_from_record("no.such_event", "id", NOW, {})


def test_a_payload_that_does_not_fit_its_class_is_refused() -> None:
    with pytest.raises(UnknownEvent):
        event_from_record("meeting.participant_joined", "id", NOW, {"meeting_id": "m"})
