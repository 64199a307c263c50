"""etcd adapters (aetcd, asyncio gRPC client): service discovery."""
