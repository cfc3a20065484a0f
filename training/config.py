"""Typed training configs: dataclass defaults, a YAML preset, ``key=value`` overrides.

    config = load_config(VQVAETrainConfig, "configs/vqvae_tiny.yaml", ["run.steps=10"])

Model sizes live in the models' own frozen configs (``VQVAEConfig``, ``GeneratorConfig``) and
travel with the weights; dimensions that come from the data (feature sizes, code size, window)
are filled in by the trainer, never taken from here.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import MISSING, OmegaConf

from semges import layout
from semges.models.configs import FaceConfig, GeneratorConfig, VQVAEConfig

C = TypeVar("C")


@dataclass
class DataConfig:
    root: str = MISSING  # a BEAT2 language folder (or a corpus in its layout)
    speakers: list[int] = field(default_factory=lambda: [2])  # BEAT2 speaker ids
    splits: list[str] = field(default_factory=lambda: ["train"])
    window: int = 64  # frames per training window
    stride: int = 10  # frames between window starts
    mirror: bool = True  # add the left/right mirror image of every clip (flagged as mirrored)
    time_range: list[float] = field(default_factory=lambda: [0.0, 1.0])  # fraction of each clip
    cache_dir: str = ""  # feature cache; empty: <root>/.feature_cache


@dataclass
class RunConfig:
    out_dir: str = MISSING  # run folder: config.yaml, checkpoints/, logs/, weights
    steps: int = 1000
    batch_size: int = 32  # per process
    seed: int = 0
    device: str = "cpu"  # "cpu", "cuda", "cuda:1"; under torchrun cuda uses LOCAL_RANK
    log_every: int = 10  # steps between TensorBoard scalars
    checkpoint_every: int = 500  # steps between resumable checkpoints (and at the end)
    resume: bool = True  # continue from the latest checkpoint in out_dir if there is one
    progress: bool = True  # tqdm progress bar on rank 0
    stop_at: int = 0  # leave after this step (checkpointed) as if preempted; 0: run to `steps`
    collective_timeout_s: float = 1800.0  # a process that waits this long on the others fails


@dataclass
class OptimConfig:
    lr: float = 3e-4
    weight_decay: float = 0.0
    warmup_steps: int = 100  # linear warm-up, then cosine decay to min_lr_ratio * lr
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0  # max gradient norm


@dataclass
class VQVAELossConfig:
    reconstruction: float = 1.0  # L1 on rotation matrices
    velocity: float = 1.0  # L1 on frame-to-frame differences of the rotation matrices
    acceleration: float = 1.0  # L1 on second differences
    commitment: float = 1.0  # multiplies the quantizer's (already weighted) commitment loss


@dataclass
class VQVAETrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    run: RunConfig = field(default_factory=RunConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: VQVAELossConfig = field(default_factory=VQVAELossConfig)
    model: VQVAEConfig = field(default_factory=VQVAEConfig)  # `part` is set per trained part
    parts: list[str] = field(default_factory=lambda: list(layout.GENERATED_PARTS))
    min_std: float = 0.01  # floor of the per-channel normalisation std


@dataclass
class GeneratorLossConfig:
    latent: float = 1.0  # MSE to the frozen VQ encoder's latents of the ground truth
    classification: float = 1.0  # cross-entropy of the code logits to the ground-truth codes
    label_smoothing: float = 0.0  # of that cross-entropy: softer code probabilities to sample
    coherence: float = 0.1  # 1 - cos(text latent, GT latent) on word frames
    relevance: float = 1.0  # Huber(beta) on decoded rotation matrices, frame weight (1 + s)
    relevance_beta: float = 0.1
    velocity: float = 1.0  # L1 on velocity of the decoded rotation matrices


@dataclass
class GeneratorTrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    run: RunConfig = field(default_factory=RunConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: GeneratorLossConfig = field(default_factory=GeneratorLossConfig)
    model: GeneratorConfig = field(default_factory=GeneratorConfig)  # dims filled from data
    vqvae_dir: str = MISSING  # a stage-1 run folder holding vqvae_<part>/
    overlap: int = 16  # inference crossfade overlap stored in the pipeline
    min_std: float = 0.01
    # Fractions of training windows whose condition is withheld (see semges.models.generator):
    # the words only (a model that runs while the words are late), or audio and words (the
    # unconditional model that classifier-free guidance subtracts). Disjoint draws per window.
    words_withheld: float = 0.0
    speech_withheld: float = 0.0
    # Live recognition's lag (s): in each window not withheld, the words of the last lag
    # seconds are unknown, lag uniform in [min, max] per window (0, 0: every word known).
    word_lag_s_min: float = 0.0
    word_lag_s_max: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.word_lag_s_min <= self.word_lag_s_max:
            raise ValueError("need 0 <= word_lag_s_min <= word_lag_s_max")
        if not (
            0 <= self.words_withheld
            and 0 <= self.speech_withheld
            and 0 < self.words_withheld + self.speech_withheld <= 1
            or self.words_withheld == self.speech_withheld == 0
        ):
            # 1: every window without words (the live generator, which never has them)
            raise ValueError("words_withheld and speech_withheld must be >= 0 and sum to <= 1")


@dataclass
class FaceLossConfig:
    face: float = 1.0  # MSE on the normalised face channels (jaw 6D + expressions)
    velocity: float = 1.0  # MSE on their frame-to-frame differences
    jaw_weight: float = 4.0  # a jaw channel counts this many expression channels in both


@dataclass
class FaceTrainConfig:
    data: DataConfig = field(default_factory=DataConfig)  # `mirror` is ignored: faces are not
    run: RunConfig = field(default_factory=RunConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: FaceLossConfig = field(default_factory=FaceLossConfig)
    model: FaceConfig = field(default_factory=FaceConfig)  # feature dims filled from the data
    min_std: float = 0.001  # floor of the per-channel normalisation std (jaw 6D: ~1e-4)
    rest_closed_fraction: float = 0.1  # the rest face: mean of this most-closed-mouth share


def load_config(schema: type[C], path: str | Path | None, overrides: list[str] | None = None) -> C:
    """Defaults of ``schema``, merged with a YAML preset and ``key=value`` overrides, as the
    typed dataclass. Unknown keys and wrong types are errors."""
    merged = OmegaConf.structured(schema)
    if path is not None:
        merged = OmegaConf.merge(merged, OmegaConf.load(path))
    if overrides:
        merged = OmegaConf.merge(merged, OmegaConf.from_dotlist(list(overrides)))
    return OmegaConf.to_object(merged)  # type: ignore[return-value]


def config_to_yaml(config: Any) -> str:
    return OmegaConf.to_yaml(OmegaConf.structured(config))


def replace(config: C, **changes: Any) -> C:
    return dataclasses.replace(config, **changes)  # type: ignore[type-var]


def config_from_command_line(config_class: type[C], description: str, argv: list[str] | None) -> C:
    """``--config PRESET.yaml key=value ...`` -> a typed training config; sets up logging.

    Torch-free, like this whole module: a trainer's ``--help`` answers before torch loads."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", help="YAML preset (configs/*.yaml)")
    parser.add_argument("overrides", nargs="*", help="key=value, e.g. run.steps=100")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return load_config(config_class, args.config, args.overrides)
