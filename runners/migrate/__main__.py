import sys

from runners.migrate import main

sys.exit(main())
