"""Web Push with VAPID (pywebpush): the job goes to every subscription of its user, encrypted
(aes128gcm) with each subscription's keys; a subscription the push service calls gone (404/410) is
dropped."""

from __future__ import annotations

import json
import logging

import aiohttp
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async

from domain.notifications.errors import DeliveryFailed, DeliveryRejected
from domain.notifications.jobs import DeliveryJob
from domain.notifications.model import Channel
from ports.notifications import PushSubscriptions

log = logging.getLogger(__name__)
GONE = (404, 410)


class WebPushSender:
    """Sends to each subscription; transient failures (429, 5xx, unreachable) of any make the job retry
    (the others may then get it twice: push has no idempotency key, the payload carries the job key
    so the service worker can drop a copy).  ``vapid_private_key`` is the base64url raw key or PEM."""

    channel = Channel.PUSH

    def __init__(self, subscriptions: PushSubscriptions, vapid_private_key: str, subject: str, *,
                 ttl: int = 3600, timeout: float = 10.0) -> None:
        self._subs = subscriptions
        self._vapid = (Vapid.from_pem(vapid_private_key.encode()) if "-----BEGIN" in vapid_private_key
                       else Vapid.from_string(private_key=vapid_private_key))
        self._subject = subject
        self._ttl = ttl
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, job: DeliveryJob) -> None:
        if job.user_id is None:
            raise DeliveryRejected("push needs a user")
        payload = json.dumps({"title": job.title, "body": job.text[:500], "url": job.link, "kind": job.kind.value,
                              "key": job.key})
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        failed = []
        for sub in await self._subs.of_user(job.user_id):  # type: ignore[arg-type]
            info = {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
            try:
                await webpush_async(info, data=payload, vapid_private_key=self._vapid,
                                    vapid_claims={"sub": self._subject}, ttl=self._ttl,
                                    aiohttp_session=self._session, timeout=self._timeout)  # type: ignore[arg-type]
            except WebPushException as exc:
                status = getattr(exc.response, "status", None)
                if status in GONE:
                    log.info("push subscription gone; dropped", extra={"status": status})
                    await self._subs.drop(sub.endpoint)
                elif status is not None and 400 <= status < 500 and status != 429:
                    log.warning("push refused", extra={"status": status})
                else:
                    failed.append(str(status))
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                failed.append(type(exc).__name__)
        if failed:
            raise DeliveryFailed(f"push failed for {len(failed)} subscription(s): {', '.join(failed)}")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
