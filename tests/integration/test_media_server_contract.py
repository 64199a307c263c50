"""The MediaServer contract for the in-process SFU, for a media node over gRPC and for rooms placed on
media nodes (PlacedMediaServer), inside a private network namespace (WebRTC never leaves it):
tests/integration/netns_media_server.py holds the suites."""

from __future__ import annotations

from tests.support.netns import require_unshare, run_in_netns

CONTRACT_TESTS = 9


def test_the_sfu_a_media_node_over_grpc_and_placed_rooms_keep_the_media_server_contract():
    require_unshare()
    result, output = run_in_netns(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                                   "-p", "tests.support.pytest_result",
                                   "tests/integration/netns_media_server.py"], timeout=600)
    assert result["failed"] == [] and result["exit"] == 0, output[-8000:]
    for adapter in ("TestAiortcMediaServer", "TestGrpcMediaServer", "TestPlacedMediaServer"):
        assert sum(adapter in t for t in result["passed"]) == CONTRACT_TESTS, output[-8000:]
