"""SQLite adapters (aiosqlite): an embedded, persistent store for one process, written against the ports."""
