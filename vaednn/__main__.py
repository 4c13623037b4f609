"""``python -m vaednn``: the ``vaednn`` command."""

import sys

from vaednn.cli import main

if __name__ == "__main__":
    sys.exit(main())
