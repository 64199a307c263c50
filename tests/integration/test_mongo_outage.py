"""The MongoDB store when its server goes away and comes back: Unavailable (503), never a driver error,
and the same client works again once the server is back."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from adapters.mongo.analysis import MongoAnalysisStore
from adapters.mongo.client import open_database
from confero_contracts.analysis import a_job
from domain.shared.errors import Unavailable
from tests.support.process import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = Path(os.environ.get("CONFERO_CI_DIR", "/var/tmp/confero-ci")) / "mongoeco-venv" / "bin" / "python"


def start_server(port: int) -> subprocess.Popen[bytes]:
    if not VENV_PYTHON.exists():
        pytest.fail(f"{VENV_PYTHON} is missing: run the tests with `eval \"$(scripts/servers.sh)\"`")
    proc = subprocess.Popen([str(VENV_PYTHON), str(ROOT / "scripts" / "mongo_wire_server.py"), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the private MongoDB-wire server did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def test_a_lost_server_is_unavailable_and_the_store_recovers_when_it_returns():
    port = free_port()
    proc = start_server(port)
    try:
        async with open_database(f"mongodb://127.0.0.1:{port}/?directConnection=true", "outage",
                                 timeout_s=1.0) as db:
            store = MongoAnalysisStore(db)
            await store.put(a_job())
            stop_server(proc)
            with pytest.raises(Unavailable):
                await store.put(a_job())
            with pytest.raises(Unavailable):
                await store.get(a_job().id)
            proc = start_server(port)
            job = a_job()
            await store.put(job)
            assert await store.get(job.id) == job
    finally:
        stop_server(proc)
