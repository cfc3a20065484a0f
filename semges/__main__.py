"""``python -m semges``: see :mod:`semges.cli`."""

import sys

from semges.cli import main

if __name__ == "__main__":
    sys.exit(main())
