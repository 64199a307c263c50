"""Clients of Confero's published protocols (HTTP API, signaling WebSocket, WebRTC): never of its internals.

Nothing here imports the server's packages (domain, ports, adapters, runners, proto); an import-linter
contract in pyproject.toml holds both directions."""
