"""`python -m runners.signaling`: the signaling WebSocket (and /health) as its own process.

Run several against one Redis (APP_ADAPTERS=production) and members connected to any of them share
rooms.  It composes the meeting domain in-process to admit people (MeetingAccess); when the services
split, that port gets a gRPC adapter and this process stops touching PostgreSQL.
"""

import sys

from runners.serve import main
from runners.settings import ConfigError

if __name__ == "__main__":
    try:
        main(tags={"signaling", "meta"})
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        sys.exit(2)
