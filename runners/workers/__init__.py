"""Background work that runs inside a process's aiohttp app (cleanup_ctx generators)."""
