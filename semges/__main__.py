"""``python -m semges``: see :mod:`semges.cli`."""

import os
import sys

# Before torch and CTranslate2 load their OpenMP runtimes: threads that spin after each
# Whisper encode starve the next generator step of the other core (the live path alternates
# the two every 0.2 s: 0.74 s of compute per second of speech spinning, 0.36 s passive).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from semges.cli import main  # noqa: E402  (after the environment is set)

if __name__ == "__main__":
    sys.exit(main())
