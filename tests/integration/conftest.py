"""Real servers for integration tests.

CI (``make test``) starts or finds the servers and passes them in environment variables:
``TEST_POSTGRES_DSN`` (a database the tests may create databases from) and ``TEST_REDIS_URL``.
Where those are unset and a Docker engine exists, testcontainers starts throw-away servers.
Otherwise the tests FAIL: a missing server must never look like a pass.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio


def _docker_available() -> bool:
    return shutil.which("docker") is not None and os.path.exists("/var/run/docker.sock")


@pytest.fixture(scope="session")
def postgres_server_dsn() -> Iterator[str]:
    dsn = os.environ.get("TEST_POSTGRES_DSN")
    if dsn:
        yield dsn
        return
    if _docker_available():
        from testcontainers.postgres import PostgresContainer  # type: ignore[import-not-found]

        with PostgresContainer("postgres:15", driver=None) as pg:
            yield pg.get_connection_url()
        return
    pytest.fail("TEST_POSTGRES_DSN is not set and no Docker engine is available: run `make test`")


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    if _docker_available():
        from testcontainers.redis import RedisContainer  # type: ignore[import-not-found]

        with RedisContainer("redis:7") as r:
            yield f"redis://{r.get_container_host_ip()}:{r.get_exposed_port(6379)}/0"
        return
    pytest.fail("TEST_REDIS_URL is not set and no Docker engine is available: run `make test`")


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    """An S3 server (moto_server, started by scripts/servers.sh); no Docker fallback: moto is a pip package."""
    endpoint = os.environ.get("TEST_S3_ENDPOINT")
    if not endpoint:
        pytest.fail("TEST_S3_ENDPOINT is not set: run `eval \"$(scripts/servers.sh)\"` (it starts moto_server)")
    return endpoint


@pytest.fixture(scope="session")
def mongo_server_url() -> Iterator[str]:
    """A MongoDB-wire server: mongoeco in CI (scripts/servers.sh), a real mongod where Docker exists."""
    url = os.environ.get("TEST_MONGO_URL")
    if url:
        yield url
        return
    if _docker_available():
        from testcontainers.mongodb import MongoDbContainer  # type: ignore[import-not-found]

        with MongoDbContainer("mongo:7") as m:
            yield m.get_connection_url()
        return
    pytest.fail("TEST_MONGO_URL is not set and no Docker engine is available: run `make test`")


@pytest.fixture(scope="session")
def etcd_server_url() -> str:
    """etcd for the discovery tests (Debian etcd-server, started by scripts/servers.sh); no Docker fallback."""
    url = os.environ.get("TEST_ETCD_URL")
    if not url:
        pytest.fail("TEST_ETCD_URL is not set: run `eval \"$(scripts/servers.sh)\"` (it starts etcd)")
    return url


@pytest_asyncio.fixture
async def mongo_database(mongo_server_url: str) -> AsyncIterator[Any]:
    """A fresh database per test on the MongoDB-wire server (suites reuse meeting and user ids across
    tests), dropped afterwards."""
    from adapters.mongo.client import open_database
    from domain.shared.ids import new_id

    async with open_database(mongo_server_url, f"t_{new_id()[:8]}") as db:
        try:
            yield db
        finally:
            await db.client.drop_database(db.name)
