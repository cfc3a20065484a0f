"""Neural networks of SemGes: per-part motion VQ-VAEs (stage 1) and the generator (stage 2)."""

from semges.models.generator import GeneratorConfig, GeneratorOutput, SemGesGenerator
from semges.models.quantizer import CodebookQuantizer, QuantizerOutput
from semges.models.vqvae import MotionVQVAE, VQVAEConfig, VQVAEOutput

__all__ = [
    "CodebookQuantizer",
    "GeneratorConfig",
    "GeneratorOutput",
    "MotionVQVAE",
    "QuantizerOutput",
    "SemGesGenerator",
    "VQVAEConfig",
    "VQVAEOutput",
]
