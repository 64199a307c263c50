"""Message templates per locale and kind: a title (the email subject, the push title), a plain text
body and an HTML body.  Parameters are filled with ``str.format_map``; HTML gets escaped values.

A new locale is one more entry in TEMPLATES with every kind (a test checks completeness); an unknown
locale falls back to English.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from attrs import frozen

from domain.notifications.model import Kind

FALLBACK = "en"


@frozen
class Template:
    title: str
    text: str


@frozen
class Rendered:
    title: str
    text: str
    html: str


EN: Mapping[Kind, Template] = {
    Kind.MEETING_INVITATION: Template(
        "You are invited to {meeting_title}",
        "You are invited to the meeting \"{meeting_title}\" starting {start_time}.\n\nOpen it: {link}"),
    Kind.MEETING_CHANGED: Template(
        "{meeting_title} has changed",
        "The meeting \"{meeting_title}\" has changed ({fields}). It starts {start_time}.\n\nOpen it: {link}"),
    Kind.MEETING_CANCELLED: Template(
        "{meeting_title} is cancelled",
        "The meeting \"{meeting_title}\" planned for {start_time} is cancelled."),
    Kind.MEETING_REMINDER: Template(
        "{meeting_title} starts in {minutes} minutes",
        "The meeting \"{meeting_title}\" starts in {minutes} minutes ({start_time}).\n\nJoin: {link}"),
    Kind.RECORDING_READY: Template(
        "The recording of {meeting_title} is ready",
        "The recording of \"{meeting_title}\" is ready.\n\nSee it: {link}"),
    Kind.TRANSCRIPT_READY: Template(
        "The transcript of {meeting_title} is ready",
        "The transcript of \"{meeting_title}\" is ready.\n\nRead it: {link}"),
    Kind.REMOVED_FROM_MEETING: Template(
        "You were removed from {meeting_title}",
        "A host removed you from the meeting \"{meeting_title}\"."),
    Kind.ROLE_CHANGED: Template(
        "You are now {role} in {meeting_title}",
        "Your role in the meeting \"{meeting_title}\" is now {role}.\n\nOpen it: {link}"),
    Kind.PASSWORD_CHANGED: Template(
        "Your password was changed",
        "The password of your account was changed and your other sessions were signed out.\n"
        "If this was not you, reset your password now: {link}"),
    Kind.NEW_SIGN_IN: Template(
        "New sign-in to your account",
        "Your account was signed in from {client}.\nIf this was not you, change your password: {link}"),
    Kind.ACCOUNT_BANNED: Template(
        "Your account is suspended",
        "An administrator suspended your account. You can no longer sign in."),
    Kind.EMAIL_VERIFICATION: Template(
        "Confirm your email address",
        "Confirm your email address by opening this link (valid until {expires_at}):\n{link}"),
    Kind.PASSWORD_RESET: Template(
        "Reset your password",
        "Someone asked to reset the password of your account. Open this link to choose a new one "
        "(valid until {expires_at}, once):\n{link}\n\nIf it was not you, ignore this message."),
}
TEMPLATES: Mapping[str, Mapping[Kind, Template]] = {"en": EN}
# An invitation to an address with no account says so: its link signs up first.
SIGN_UP_NOTE = {"en": "You do not have an account yet: the link lets you create one and join."}
UNSUBSCRIBE_NOTE = {"en": "Stop these emails: {unsubscribe}"}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(kind: Kind, locale: str, params: Mapping[str, Any], *, sign_up: bool = False) -> Rendered:
    lang = locale if locale in TEMPLATES else FALLBACK
    t = TEMPLATES[lang][kind]
    values = _Blank({k: str(v) for k, v in params.items()})
    title = t.title.format_map(values)
    text = t.text.format_map(values)
    if sign_up:
        text += "\n\n" + SIGN_UP_NOTE[lang]
    if values.get("unsubscribe"):
        text += "\n\n-- \n" + UNSUBSCRIBE_NOTE[lang].format_map(values)
    escaped = _Blank({k: html.escape(v) for k, v in values.items()})
    # Escape the template's literal text, then fill in escaped values: each is escaped exactly once.
    paragraphs = [html.escape(p, quote=False).replace("\n", "<br>") for p in t.text.split("\n\n")]
    markup = "".join(f"<p>{p}</p>" for p in paragraphs)
    markup = markup.format_map(escaped)
    link = escaped.get("link")
    if link:
        markup += f'<p><a href="{link}">{html.escape(title)}</a></p>'
    if sign_up:
        markup += f"<p>{html.escape(SIGN_UP_NOTE[lang])}</p>"
    if escaped.get("unsubscribe"):
        markup += f'<p style="font-size:small"><a href="{escaped["unsubscribe"]}">Unsubscribe</a></p>'
    return Rendered(title=title, text=text, html=f"<!doctype html><html><body>{markup}</body></html>")
