"""Where the BEAT2 sample material lives: ``data/beat2`` in this repository (see its README).

``$SEMGES_BEAT2_SAMPLE`` overrides it (a folder of flat ``<clip>.npz/.wav/.TextGrid`` files).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BEAT2_SAMPLE_DIR = Path(os.environ.get("SEMGES_BEAT2_SAMPLE", REPO_ROOT / "data" / "beat2"))
