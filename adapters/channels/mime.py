"""The email a delivery job becomes: text and HTML as multipart/alternative, a Message-ID derived from
the job's idempotency key (a resend carries the same id, so mail systems can drop the copy), and
one-click unsubscribe headers (RFC 2369 / RFC 8058) when the job has an unsubscribe link."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import format_datetime

from domain.notifications.jobs import DeliveryJob


def message_id(key: str, domain: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build_email(job: DeliveryJob, sender: str, domain: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = job.address or ""
    msg["Subject"] = job.title
    msg["Date"] = format_datetime(job.origin)
    msg["Message-ID"] = message_id(job.key, domain)
    msg["X-Confero-Kind"] = job.kind.value
    if job.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{job.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(job.text)
    if job.html:
        msg.add_alternative(job.html, subtype="html")
    return msg
