"""`python -m runners.notifications`: the notification service as its own process (README
"Notifications"): the /api/v1/notifications routes, the event consumer, delivery and reminders."""

import os
import sys

from runners.serve import main

DEFAULT_PORT = "8085"

if __name__ == "__main__":
    os.environ.setdefault("APP_PORT", DEFAULT_PORT)
    sys.exit(main(tags={"notifications", "meta"}, service="confero-notifications"))
