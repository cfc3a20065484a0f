"""The sampling temperature users get unless they choose one (light: no torch import, so
command lines can show it in ``--help`` at once)."""

DEFAULT_TEMPERATURE: float = 1.0
"""Codes are sampled as the model learned them, and the seed picks the variation. At 0 (the
most likely code at every frame) a model trained on little data hedges toward its commonest,
smallest gestures on speech it has not heard: about 0.55x the real wrist range on held-out
speech, against about 0.9x at 1 (``benchmarks/motion_quality.md``)."""
