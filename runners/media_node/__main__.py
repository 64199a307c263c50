"""`python -m runners.media_node` (the same as `python -m runners.media`): a media node, see main.py."""

import sys

from runners.media_node.main import main

if __name__ == "__main__":
    sys.exit(main())
