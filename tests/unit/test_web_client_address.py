"""Behind trusted proxies the client address is the one the outermost trusted proxy saw, not what the
client wrote into X-Forwarded-For."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from runners.web.context import SETTINGS, client_address
from tests.unit.web_support import web_settings

PEER = "10.0.0.9"  # make_mocked_request's transport reports no peer; set below


def address(forwarded: list[str], **env: str) -> str:
    app = web.Application()
    app[SETTINGS] = web_settings(**env)
    headers = CIMultiDict(("X-Forwarded-For", value) for value in forwarded)
    request = make_mocked_request("POST", "/api/v1/auth/login", headers=headers, app=app)
    return client_address(request.clone(remote=PEER))


def test_without_trust_the_header_is_ignored() -> None:
    assert address(["1.2.3.4"]) == PEER


@pytest.mark.parametrize("forwarded,hops,expected", [
    (["203.0.113.7"], "1", "203.0.113.7"),
    (["6.6.6.6, 203.0.113.7"], "1", "203.0.113.7"),  # the client forged the leftmost entry
    (["6.6.6.6", "203.0.113.7"], "1", "203.0.113.7"),  # the same split over two header lines
    (["6.6.6.6, 203.0.113.7, 10.0.0.2"], "2", "203.0.113.7"),  # CDN, then our proxy
    (["203.0.113.7"], "2", "203.0.113.7"),  # fewer entries than hops: every entry is a proxy's
    (["6.6.6.6, 2001:db8::1"], "1", "2001:db8::1"),
    (["6.6.6.6, unknown"], "1", PEER),  # not an address: the peer, never the forged entry
    ([], "1", PEER),
])
def test_the_entry_written_by_the_outermost_trusted_proxy_is_the_client(forwarded: list[str], hops: str,
                                                                         expected: str) -> None:
    assert address(forwarded, APP_TRUST_FORWARDED_FOR="true", APP_TRUSTED_PROXY_HOPS=hops) == expected


def test_the_default_is_one_trusted_hop() -> None:
    assert web_settings(APP_TRUST_FORWARDED_FOR="true").trusted_proxy_hops == 1
