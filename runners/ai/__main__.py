"""`python -m runners.ai`: the AI analysis service on its own: HTTP on APP_AI_PORT (8084, the /api/v1/ai/
routes, /health and the document) and gRPC on APP_AI_GRPC_PORT (9084).  It composes the users and
meetings domain in process to authenticate callers and check who may analyse a meeting's media."""

import sys

from runners.rpc.server import analysis_grpc
from runners.serve import main

if __name__ == "__main__":
    sys.exit(main(tags={"ai", "meta"}, service="confero-ai", port=lambda s: s.ai_port, sidecar=analysis_grpc))
