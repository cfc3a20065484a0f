"""Neural networks of SemGes: per-part motion VQ-VAEs (stage 1) and the generator (stage 2).

The configs (:mod:`semges.models.configs`) import without torch; the models are imported on
first use, so ``from semges.models import GeneratorConfig`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from semges.models.configs import FaceConfig, GeneratorConfig, VQVAEConfig

if TYPE_CHECKING:
    from semges.models.generator import GeneratorOutput, SemGesGenerator
    from semges.models.quantizer import CodebookQuantizer, QuantizerOutput
    from semges.models.vqvae import MotionVQVAE, VQVAEOutput

_LAZY_EXPORTS = {
    "CodebookQuantizer": "semges.models.quantizer",
    "GeneratorOutput": "semges.models.generator",
    "MotionVQVAE": "semges.models.vqvae",
    "QuantizerOutput": "semges.models.quantizer",
    "SemGesGenerator": "semges.models.generator",
    "VQVAEOutput": "semges.models.vqvae",
}

__all__ = [
    "CodebookQuantizer",
    "FaceConfig",
    "GeneratorConfig",
    "GeneratorOutput",
    "MotionVQVAE",
    "QuantizerOutput",
    "SemGesGenerator",
    "VQVAEConfig",
    "VQVAEOutput",
]


def __getattr__(name: str) -> Any:
    """The torch-backed exports, imported when first asked for (PEP 562)."""
    if name not in _LAZY_EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY_EXPORTS[name]), name)
