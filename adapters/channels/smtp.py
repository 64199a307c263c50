"""Email over SMTP with aiosmtplib: one connection per message (notification mail is not bulk mail)."""

from __future__ import annotations

import aiosmtplib

from adapters.channels.mime import build_email
from domain.notifications.errors import DeliveryFailed, DeliveryRejected
from domain.notifications.jobs import DeliveryJob
from domain.notifications.model import Channel


class SmtpEmailSender:
    """5xx answers (a refused recipient, a refused message) are permanent; 4xx answers, refused or
    dropped connections and timeouts are transient (the dispatcher retries them)."""

    channel = Channel.EMAIL

    def __init__(self, host: str, port: int, *, sender: str, domain: str, username: str = "", password: str = "",
                 use_tls: bool = False, start_tls: bool | None = None, timeout: float = 10.0) -> None:
        self._host, self._port = host, port
        self._sender, self._domain = sender, domain
        self._auth = {"username": username, "password": password} if username else {}
        self._use_tls, self._start_tls, self._timeout = use_tls, start_tls, timeout

    async def send(self, job: DeliveryJob) -> None:
        if not job.address:
            raise DeliveryRejected("no email address")
        msg = build_email(job, self._sender, self._domain)
        try:
            await aiosmtplib.send(msg, hostname=self._host, port=self._port, use_tls=self._use_tls,
                                  start_tls=self._start_tls, timeout=self._timeout, **self._auth)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if all(c >= 500 for c in codes):
                raise DeliveryRejected(f"recipient refused: {codes}") from exc
            raise DeliveryFailed(f"recipient deferred: {codes}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                raise DeliveryRejected(f"{exc.code} {exc.message}") from exc
            raise DeliveryFailed(f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"smtp unreachable: {type(exc).__name__}") from exc
