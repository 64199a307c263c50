"""`python -m runners.meetings`: the meetings service on its own: HTTP on APP_MEETINGS_PORT (8082: the
meetings routes, /health) and gRPC on APP_MEETINGS_GRPC_PORT (50052: the rooms' MeetingAccess, for
signaling; proto/meetings.proto, docs/grpc.md).  It composes the users domain in process to authenticate
its HTTP callers (the gateway will check tokens at the edge)."""

import sys

from runners.grpc_services import run_service
from runners.rpc.server import meetings_grpc

if __name__ == "__main__":
    sys.exit(run_service(tags={"meetings", "captions", "meta"}, service="confero-meetings", port=lambda s: s.meetings_port,
                         sidecar=meetings_grpc))
