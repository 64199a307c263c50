"""The start of a service process that serves gRPC to other services: without APP_SERVICE_SECRETS in
production it refuses to start (exit code 2, as every configuration error), before touching anything."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from runners.serve import Sidecar, main
from runners.settings import AdapterFamily, ConfigError, Settings


def run_service(*, tags: set[str], service: str, port: Callable[[Settings], int], sidecar: Sidecar) -> int:
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError:
        settings = None  # main() reports it
    if settings is not None and settings.adapters is AdapterFamily.PRODUCTION and not settings.service_secrets:
        print("configuration error: APP_SERVICE_SECRETS is required in production to serve other services "
              "over gRPC (docs/grpc.md)", file=sys.stderr)
        return 2
    return main(tags=tags, service=service, port=port, sidecar=sidecar)
