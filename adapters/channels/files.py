"""The embedded mode's outbox: each email a complete .eml file in a directory (open it with any mail
client), SMS and push written to the log.  Nothing external is needed for `make run`."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from pathlib import Path

from adapters.channels.mime import build_email, message_id
from domain.notifications.jobs import DeliveryJob
from domain.notifications.model import Channel

log = logging.getLogger("confero.notifications")


class MailDirEmailSender:
    """Files are named by the job key's hash, written to a temporary name and renamed: a reader never
    sees half a message, and a job delivered twice overwrites its own file."""

    channel = Channel.EMAIL

    def __init__(self, directory: str, *, sender: str, domain: str) -> None:
        self._dir = Path(directory)
        self._sender, self._domain = sender, domain

    async def send(self, job: DeliveryJob) -> None:
        data = bytes(build_email(job, self._sender, self._domain))
        name = message_id(job.key, self._domain).strip("<>").split("@")[0] + ".eml"
        await asyncio.to_thread(self._write, name, data)
        log.info("email written", extra={"file": str(self._dir / name), "to": job.address, "subject": job.title})

    def _write(self, name: str, data: bytes) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, self._dir / name)


class LoggingSender:
    """SMS or push in the embedded mode: the message goes to the log (logger confero.notifications)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    async def send(self, job: DeliveryJob) -> None:
        log.info("%s notification", self.channel.value,
                 extra={"channel": self.channel.value, "to": job.address or job.user_id, "title": job.title,
                        "text": job.text, "link": job.link})
