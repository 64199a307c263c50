"""PostgreSQL adapters (asyncpg): repositories, the pool resource and schema migrations."""
