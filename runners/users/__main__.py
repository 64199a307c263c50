"""`python -m runners.users`: the users service on its own: HTTP on APP_USERS_PORT (8080: the auth and users
routes, /health) and gRPC on APP_USERS_GRPC_PORT (50051: token and session checks, lookups by id, for the
other services; proto/users.proto, docs/grpc.md)."""

import sys

from runners.grpc_services import run_service
from runners.rpc.server import users_grpc

if __name__ == "__main__":
    sys.exit(run_service(tags={"auth", "users", "admin", "meta"}, service="confero-users", port=lambda s: s.users_port,
                         sidecar=users_grpc))
