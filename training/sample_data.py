"""Where the BEAT2 sample material lives: ``shared/data/beat2`` beside the repository.

``$SEMGES_BEAT2_SAMPLE`` overrides it (a folder of flat ``<clip>.npz/.wav/.TextGrid`` files).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BEAT2_SAMPLE_DIR = Path(os.environ.get("SEMGES_BEAT2_SAMPLE",
                                       REPO_ROOT.parent / "shared" / "data" / "beat2"))
