"""``python -m semges``: see :mod:`semges.cli`."""

import sys

from semges.openmp import prefer_passive_waits

prefer_passive_waits()  # before torch and CTranslate2 load their OpenMP runtimes

from semges.cli import main  # noqa: E402  (after the environment is set)

if __name__ == "__main__":
    sys.exit(main())
