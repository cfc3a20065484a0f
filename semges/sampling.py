"""The sampling settings a user chooses, their defaults and their one check (light: no torch
import, so command lines can show them in ``--help`` and check them at once)."""

import math
from numbers import Real

DEFAULT_TEMPERATURE: float = 1.0
"""Codes are sampled as the model learned them, and the seed picks the variation. At 0 every
segment takes its most likely code, the same motion for any seed; the "at temperature 0" rows
of ``benchmarks/motion_quality.md`` compare it with sampling on held-out speech."""

MAX_TEMPERATURE: float = 2.0
"""The demo's slider ends here: higher flattens the code probabilities towards uniform, motion
that follows the speech less and less."""
MAX_SEED: int = 2**64 - 1  # the largest seed a torch generator takes


def check_temperature(temperature: float) -> float:
    """``temperature`` if it is within 0..:data:`MAX_TEMPERATURE`; ValueError otherwise."""
    if not (math.isfinite(temperature) and 0.0 <= temperature <= MAX_TEMPERATURE):
        raise ValueError(
            f"the temperature (the demo's Variation) must be between 0 and "
            f"{MAX_TEMPERATURE:g}, got {temperature:g}"
        )
    return float(temperature)


def check_seed(seed: int) -> int:
    """``seed`` if it is a whole number in 0..:data:`MAX_SEED`; ValueError otherwise."""
    whole = (
        isinstance(seed, Real)
        and not isinstance(seed, bool)
        and math.isfinite(seed)
        and seed == int(seed)
    )
    if not whole or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"the seed must be zero or a positive whole number, got {seed!r}")
    return int(seed)
