"""`python -m runners.signaling`: the signaling WebSocket (and /health) as its own process, on
APP_SIGNALING_PORT (8081).

Run several against one Redis (APP_ADAPTERS=production) and members connected to any of them share
rooms.  With APP_MEETINGS_GRPC_TARGET it admits people through the meetings service over gRPC
(MeetingAccess), with APP_USERS_GRPC_TARGET it checks tokens through the users service (runners/remote.py);
without them it composes those domains in process.  With APP_ETCD_URL it registers as "signaling".
"""

import sys

from runners.serve import main

if __name__ == "__main__":
    sys.exit(main(tags={"signaling", "media", "recordings", "meta"}, service="confero-signaling", port=lambda s: s.signaling_port))
