"""`python -m runners.allinone`: every service in one process (embedded in-memory adapters by default)."""

import sys

from runners.serve import main

if __name__ == "__main__":
    sys.exit(main())
