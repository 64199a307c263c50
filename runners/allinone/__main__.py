"""`python -m runners.allinone`: every service in one process (embedded in-memory adapters by default)."""

import sys

from runners.serve import main
from runners.settings import ConfigError

if __name__ == "__main__":
    try:
        main()
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        sys.exit(2)
