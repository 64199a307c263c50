"""Download links this application signs itself (HMAC-SHA256 with the app's secret), for blob stores
that cannot sign their own (a directory, memory).  The link names the key, the file name and the expiry;
changing any of them breaks the signature."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import urllib.parse

from domain.recordings.errors import DownloadLinkInvalid

PATH = "/api/v1/recording-files"


class HmacDownloadLinks:
    def __init__(self, secret: str, path: str = PATH) -> None:
        # A key of its own, derived: a download signature can never pass for a token signature.
        self._key = hmac.new(secret.encode(), b"confero recording download links", hashlib.sha256).digest()
        self._path = path

    def sign(self, key: str, filename: str, expires_at: dt.datetime) -> str:
        expires = int(expires_at.timestamp())
        query = urllib.parse.urlencode({"key": key, "name": filename, "expires": expires,
                                        "signature": self._signature(key, filename, expires)})
        return f"{self._path}?{query}"

    def verify(self, key: str, filename: str, expires: int, signature: str, now: dt.datetime) -> None:
        if not hmac.compare_digest(self._signature(key, filename, expires), signature):
            raise DownloadLinkInvalid("this download link is not valid")
        if now.timestamp() >= expires:
            raise DownloadLinkInvalid("this download link has expired; ask for a new one")

    def _signature(self, key: str, filename: str, expires: int) -> str:
        message = "\n".join((key, filename, str(expires))).encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
