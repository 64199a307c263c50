"""A MongoDB-wire-compatible server for the tests (mongoeco's proxy over its in-memory engine).

Run by scripts/servers.sh with the Python 3.13 virtualenv it creates (mongoeco needs Python >= 3.13):
``python scripts/mongo_wire_server.py PORT``.  Not a mongod: no replica sets, multi-document
transactions or change streams (README, "MongoDB in CI").  SIGTERM stops it cleanly.
"""

import asyncio
import signal
import sys

from mongoeco.wire import AsyncMongoEcoProxyServer


async def main(port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncMongoEcoProxyServer(host="127.0.0.1", port=port) as server:
        print(f"listening on {server.address.uri}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
