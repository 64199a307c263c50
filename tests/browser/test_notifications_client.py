"""The notification side of the web client in Chromium: inviting someone by email from the page sends
them a real email (seen by an SMTP server the scenario starts) and shows up in their bell; the
settings page saves.  Same harness as test_web_client.py: the scenario runs in ``unshare -n`` and the
tests read its record."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_web_client import DESKTOP, Run, create_meeting, open_page, passed, register
from tests.support.netns import emit_result, require_private_netns, run_module, unshare_available
from tests.support.notify_servers import SmtpServer, text_and_html
from tests.support.process import allinone

pytestmark = pytest.mark.timeout(300)
PUBLIC = "https://meet.example.test"


def scenario() -> dict[str, Any]:
    from playwright.sync_api import expect, sync_playwright

    require_private_netns()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    smtp = SmtpServer().start()
    env = {"APP_ADAPTERS": "memory", "APP_FAST_PASSWORD_HASHING": "true", "APP_LOG_FORMAT": "text",
           "APP_SMTP_HOST": "127.0.0.1", "APP_SMTP_PORT": str(smtp.port), "APP_SMTP_TLS": "none",
           "APP_PUBLIC_URL": PUBLIC}
    try:
        with (tempfile.TemporaryDirectory() as profiles, allinone(env, ARTIFACTS / "notifications.log") as base,
              sync_playwright() as pw):
            run = Run(base)
            a = open_page(run, pw, Path(profiles), "nora", DESKTOP)
            b = open_page(run, pw, Path(profiles), "olaf", DESKTOP)
            run.step("accounts", lambda: (register(a, "nora", "Nora"), register(b, "olaf", "Olaf")))

            def wait_mail(kind: str, to: str) -> Any:
                deadline = time.monotonic() + 20
                while not (mails := [m for m in smtp.received(kind) if m["To"] == to]):
                    if time.monotonic() > deadline:
                        raise AssertionError(f"no {kind} email for {to} reached the SMTP server")
                    time.sleep(0.1)
                return mails[-1]

            def verify() -> str:
                # Only a verified address receives invitations sent to it as its account's.
                text, _ = text_and_html(wait_mail("email_verification", "olaf@example.com"))
                link = next(w for w in text.split() if "/static/verify-email.html#token=" in w)
                b.goto(link.replace(PUBLIC, base))
                expect(b.locator("#account-status")).to_contain_text("verified")
                b.goto(base + "/")
                expect(b.locator("#view-lobby")).to_be_visible()
                return link.split("#")[0]
            run.step("verify_email_from_the_emailed_link", verify)
            meeting_id = run.step("create_meeting", lambda: create_meeting(a, "Planning"))

            def invite() -> None:
                a.fill("#invite-form [name=meeting_id]", str(meeting_id))
                a.fill("#invite-form [name=email]", "olaf@example.com")
                a.click("#invite-form button[type=submit]")
                expect(a.locator("#notice")).to_contain_text("Invitation sent to olaf@example.com")
            run.step("invite_from_the_page", invite)

            def emailed() -> dict[str, Any]:
                mail = wait_mail("meeting_invitation", "olaf@example.com")
                text, _ = text_and_html(mail)
                if f"{PUBLIC}/meetings/{meeting_id}" not in text:
                    raise AssertionError(f"the meeting's link is not in the email: {text}")
                return {"subject": str(mail["Subject"])}
            run.step("email_at_the_smtp_server", emailed)

            def bell() -> None:
                b.click("#bell")  # the sign-in from this new browser is in the list too
                invitation = b.locator("#bell-list li", has_text="You are invited to Planning")
                expect(invitation).to_have_count(1)
                expect(b.locator("#bell-count")).to_have_text("2")
                invitation.click()
                expect(b.locator("#bell-count")).to_have_text("1")
                b.click("#bell-read-all")
                expect(b.locator("#bell-count")).to_be_hidden()
            run.step("shows_in_the_bell", bell)
            run.shot(b, "notifications-01-bell")

            def open_settings() -> None:
                if not b.locator("#bell-panel").is_visible():
                    b.click("#bell")
                b.click("#bell-settings")

            def settings() -> None:
                open_settings()
                expect(b.locator("#view-notifications")).to_be_visible()
                b.uncheck("[name='meeting_invitation:email']")
                b.fill("#prefs-form [name=reminder_minutes]", "15")
                b.click("#prefs-form button[type=submit]")
                expect(b.locator("#notice")).to_contain_text("Notification settings saved")
                b.click("#prefs-back")
                open_settings()
                expect(b.locator("[name='meeting_invitation:email']")).not_to_be_checked()
                expect(b.locator("#prefs-form [name=reminder_minutes]")).to_have_value("15")
            run.step("settings_page_saves", settings)
            run.shot(b, "notifications-02-settings", full_page=True)
            return run.record()
    finally:
        smtp.stop()


@pytest.fixture(scope="module")
def notifications_run() -> dict[str, Any]:
    if not unshare_available():
        pytest.fail("browser tests need root, unshare and ip (iproute2) for a private network namespace")
    if shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium (make test does it)")
    result, _ = run_module("tests.browser.test_notifications_client", "scenario", timeout=240)
    return result


def test_inviting_by_email_in_the_page_sends_a_real_email_with_the_meetings_link(notifications_run):
    passed(notifications_run, "accounts", "verify_email_from_the_emailed_link", "create_meeting",
           "invite_from_the_page", "email_at_the_smtp_server")


def test_the_invitation_shows_in_the_invitees_bell_and_reading_it_clears_the_count(notifications_run):
    passed(notifications_run, "shows_in_the_bell")


def test_the_settings_page_saves_the_channels_and_reminder_minutes(notifications_run):
    passed(notifications_run, "settings_page_saves")


if __name__ == "__main__" and sys.argv[1:] == ["scenario"]:
    emit_result(scenario())
