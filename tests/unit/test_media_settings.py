"""The settings of media nodes (issue 14): one node's SFU is APP_MEDIA_GRPC_TARGET=host:port; placing
rooms on every node of the registry is APP_MEDIA_NODES=etcd.  A process refuses to start otherwise."""

from __future__ import annotations

import pytest

from runners.settings import ConfigError, Settings

ENV = {"APP_FAST_PASSWORD_HASHING": "true", "APP_ETCD_URL": "http://127.0.0.1:2379"}


@pytest.mark.parametrize("extra", [{}, {"APP_MEDIA_NODES": "etcd"}])
def test_a_media_target_of_etcd_is_refused_pointing_at_app_media_nodes(extra) -> None:
    with pytest.raises(ConfigError, match="APP_MEDIA_GRPC_TARGET is one media node's host:port; .*APP_MEDIA_NODES=etcd"):
        Settings.from_env(ENV | extra | {"APP_MEDIA_GRPC_TARGET": "etcd"})


def test_one_node_or_every_node_is_accepted() -> None:
    assert Settings.from_env(ENV | {"APP_MEDIA_GRPC_TARGET": "media-1:50053"}).media_grpc_target == "media-1:50053"
    assert Settings.from_env(ENV | {"APP_MEDIA_NODES": "etcd"}).media_nodes == "etcd"
    with pytest.raises(ConfigError, match="unset APP_MEDIA_GRPC_TARGET"):
        Settings.from_env(ENV | {"APP_MEDIA_NODES": "etcd", "APP_MEDIA_GRPC_TARGET": "media-1:50053"})
    # the other services may still be found in the registry
    assert Settings.from_env(ENV | {"APP_MEETINGS_GRPC_TARGET": "etcd"}).meetings_grpc_target == "etcd"
