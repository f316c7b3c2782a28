"""``python -m trainlab ...``: the same as the ``trainlab`` command."""

import sys

from trainlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
