"""`python -m sandbox.cli ARGS`: gsp-sandbox without its console script (tests start it so)."""

import sys

from sandbox.cli import main

if __name__ == "__main__":
    sys.exit(main())
