"""Where the checkpoint shipped with the repository lives (light: no torch import, so command
lines can show it in ``--help``)."""

from pathlib import Path

SHIPPED_CHECKPOINT: Path = Path("assets") / "checkpoint"
"""The shipped pipeline folder, relative to the repository root: where ``make checkpoint``
writes it (from the repository root) and how reports name it."""

DEFAULT_CHECKPOINT_DIR: Path = Path(__file__).resolve().parent.parent / SHIPPED_CHECKPOINT
"""The shipped pipeline folder of this checkout: what the CLI, the web demo and the benchmarks
load when given no other."""
