"""Which modules an import pulls in, asked of a new Python process (this one has loaded
everything already)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable


def modules_loaded_by(imports: str, watched: Iterable[str]) -> list[str]:
    """The names in ``watched`` found in ``sys.modules`` after a new Python runs ``imports``
    (import statements)."""
    code = (
        f"import sys\n{imports}\nprint(','.join(m for m in {tuple(watched)!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return [name for name in result.stdout.strip().split(",") if name]
