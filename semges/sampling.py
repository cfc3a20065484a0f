"""The sampling temperature users get unless they choose one (light: no torch import, so
command lines can show it in ``--help`` at once)."""

DEFAULT_TEMPERATURE: float = 1.0
"""Codes are sampled as the model learned them, and the seed picks the variation. At 0 (the
most likely code at every frame) the shipped model, trained on a minute, moves both arms
together on speech it has not heard (left/right wrist-height correlation 0.88 against 0.60
real; 0.73 at 1) with less range (``benchmarks/motion_quality.md``)."""
