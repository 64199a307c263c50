"""SMS through a Twilio-style REST API: POST <base>/2010-04-01/Accounts/<sid>/Messages.json with a
form body (From, To, Body) and HTTP basic auth (account sid, auth token)."""

from __future__ import annotations

import base64

import aiohttp

from domain.notifications.errors import DeliveryFailed, DeliveryRejected
from domain.notifications.jobs import DeliveryJob
from domain.notifications.model import Channel

MAX_BODY = 1600  # Twilio's limit for one message


class TwilioSmsSender:
    """201 is sent; 429 and 5xx are transient; any other 4xx (a bad number, an unverified sender) is
    permanent; a refused connection or a timeout is transient.  Owns an aiohttp session: ``aclose``."""

    channel = Channel.SMS

    def __init__(self, base_url: str, account_sid: str, auth_token: str, sender: str, *, timeout: float = 10.0) -> None:
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._sender = sender
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, job: DeliveryJob) -> None:
        if not job.address:
            raise DeliveryRejected("no phone number")
        body = f"{job.title}\n{job.link}" if job.link else job.title
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(self._url,
                                          data={"From": self._sender, "To": job.address, "Body": body[:MAX_BODY]},
                                          headers={"Authorization": self._auth, "Idempotency-Key": job.key}) as resp:
                text = await resp.text()
                if resp.status in (200, 201):
                    return
                if resp.status == 429 or resp.status >= 500:
                    raise DeliveryFailed(f"sms provider answered {resp.status}")
                raise DeliveryRejected(f"sms provider refused: {resp.status} {text[:200]}")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryFailed(f"sms provider unreachable: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
