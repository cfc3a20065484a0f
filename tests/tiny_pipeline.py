"""Real semges classes at tiny sizes, seeded: the models every test builds on."""

from __future__ import annotations

import numpy as np
import torch

from semges.models import GeneratorConfig, MotionVQVAE, SemGesGenerator, VQVAEConfig
from semges.pipeline import InferenceConfig, SemGesPipeline
from semges.speech import SpeechFeatures

TINY_AUDIO_DIM = 12
TINY_TEXT_DIM = 10
TINY_WINDOW = 16
TINY_CODEBOOK = 32


def tiny_vqvae(part: str, code_dim: int = 8) -> MotionVQVAE:
    return MotionVQVAE(
        VQVAEConfig(
            part=part,
            hidden_dim=16,
            num_res_blocks=1,
            code_dim=code_dim,
            codebook_size=TINY_CODEBOOK,
            kmeans_init=False,
        )
    )


def tiny_pipeline(
    seed: int = 0,
    audio_dim: int = TINY_AUDIO_DIM,
    text_dim: int = TINY_TEXT_DIM,
    window: int = TINY_WINDOW,
) -> SemGesPipeline:
    """A randomly initialised pipeline (not a trained model): for contracts, not quality."""
    torch.manual_seed(seed)
    config = GeneratorConfig(
        audio_dim=audio_dim,
        text_dim=text_dim,
        d_model=16,
        num_heads=2,
        num_layers=1,
        ffn_dim=32,
        latent_dim=8,
        codebook_size=TINY_CODEBOOK,
        window=window,
        dropout=0.0,
    )
    generator = SemGesGenerator(config)
    vqvaes = {part: tiny_vqvae(part) for part in config.parts}
    return SemGesPipeline(generator, vqvaes, InferenceConfig(overlap=window // 4, batch_windows=4))


def random_features(
    num_frames: int, seed: int = 0, audio_dim: int = TINY_AUDIO_DIM, text_dim: int = TINY_TEXT_DIM
) -> SpeechFeatures:
    rng = np.random.default_rng(seed)
    return SpeechFeatures(
        audio=rng.normal(size=(num_frames, audio_dim)).astype(np.float32),
        text=rng.normal(size=(num_frames, text_dim)).astype(np.float32),
        word_mask=rng.random(num_frames) > 0.3,
    )


def smooth_features(
    num_frames: int, audio_dim: int = TINY_AUDIO_DIM, text_dim: int = TINY_TEXT_DIM
) -> SpeechFeatures:
    """Slowly varying sinusoids: any jump in the output comes from the model, not the input."""
    t = np.arange(num_frames, dtype=np.float32)[:, None] / 30.0
    audio = np.sin(2 * np.pi * 0.2 * t + np.arange(audio_dim) * 0.3).astype(np.float32)
    text = np.cos(2 * np.pi * 0.1 * t + np.arange(text_dim) * 0.5).astype(np.float32)
    return SpeechFeatures(audio=audio, text=text, word_mask=np.ones(num_frames, bool))
