"""A motor client as a DI Resource: connected and checked at start, closed at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase

from adapters.mongo.errors import translated


@asynccontextmanager
async def open_database(url: str, database: str, *, timeout_s: float = 5.0) -> AsyncIterator[AsyncIOMotorDatabase]:
    """tz_aware: BSON dates come back as aware UTC datetimes, as the domain keeps them."""
    ms = int(timeout_s * 1000)
    client: AsyncIOMotorClient = AsyncIOMotorClient(url, tz_aware=True, serverSelectionTimeoutMS=ms,
                                                    connectTimeoutMS=ms, socketTimeoutMS=ms * 6)
    try:
        with translated():
            await client.admin.command("ping")
        yield client[database]
    finally:
        client.close()
