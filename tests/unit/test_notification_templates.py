"""Templates: every locale covers every kind; values are escaped in HTML exactly once."""

from __future__ import annotations

import datetime as dt

from domain.notifications.model import Kind, QuietHours
from domain.notifications.templates import TEMPLATES, render
from domain.notifications import unsubscribe
from domain.notifications.model import Channel


def test_every_locale_has_every_kind():
    for locale, table in TEMPLATES.items():
        assert set(table) == set(Kind), locale


def test_values_are_escaped_in_html_and_left_alone_in_text():
    r = render(Kind.MEETING_INVITATION, "en", {"meeting_title": "<script>&", "link": "http://x/m?a=1&b=2"})
    assert "<script>&" in r.text and "&lt;script&gt;&amp;" in r.html and "<script>" not in r.html
    assert 'href="http://x/m?a=1&amp;b=2"' in r.html


def test_an_unknown_locale_falls_back_to_english():
    assert render(Kind.PASSWORD_CHANGED, "xx", {}).title == render(Kind.PASSWORD_CHANGED, "en", {}).title


def test_quiet_hours_wrap_midnight_in_the_users_zone():
    q = QuietHours(dt.time(22, 0), dt.time(7, 0))
    late = dt.datetime(2030, 1, 1, 22, 30, tzinfo=dt.timezone.utc)  # 23:30 in Paris (winter)
    assert q.holds(late, "Europe/Paris")
    assert q.ends_after(late, "Europe/Paris") == dt.datetime(2030, 1, 2, 6, 0, tzinfo=dt.timezone.utc)
    noon = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert not q.holds(noon, "Europe/Paris") and q.ends_after(noon, "Europe/Paris") == noon


def test_unsubscribe_tokens_round_trip_and_refuse_another_secret():
    user = "00000000-0000-4000-8000-000000000001"
    token = unsubscribe.sign(b"a", user, Kind.MEETING_REMINDER, Channel.EMAIL)
    assert unsubscribe.verify(b"a", token) == (user, Kind.MEETING_REMINDER, Channel.EMAIL)
    import pytest
    from domain.notifications.errors import InvalidUnsubscribeToken
    for bad in (token + "x", "nope", "", token.replace(".", "")):
        with pytest.raises(InvalidUnsubscribeToken):
            unsubscribe.verify(b"a", bad)
    with pytest.raises(InvalidUnsubscribeToken):
        unsubscribe.verify(b"b", token)
