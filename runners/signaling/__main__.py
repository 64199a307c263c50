"""`python -m runners.signaling`: the signaling WebSocket (and /health) as its own process.

Run several against one Redis (APP_ADAPTERS=production) and members connected to any of them share
rooms.  It composes the meeting domain in-process to admit people (MeetingAccess); when the services
split, that port gets a gRPC adapter and this process stops touching PostgreSQL.
"""

import sys

from runners.serve import main

if __name__ == "__main__":
    sys.exit(main(tags={"signaling", "media", "meta"}, service="confero-signaling"))
