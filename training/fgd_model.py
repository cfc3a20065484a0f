"""The motion autoencoder whose features define semges' FGD, and loading the shipped one.

This is NOT EMAGE's FGD network: semges FGD numbers are comparable only with other semges FGD
numbers measured with the same autoencoder. It is trained once
(``python -m training.fgd_autoencoder``, see there) and shipped in ``assets/fgd_autoencoder``;
evaluation loads it with :func:`load_fgd_autoencoder`, which refuses a missing folder or one
of another feature version rather than measuring something else under the same name.

The autoencoder sees windows of the generated parts' 6D rotations (upper body, hands, lower
body); a conv encoder pools each window to one feature vector, a conv decoder reconstructs the
window from it. FGD is the Fréchet distance between the features of two sets of windows.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from semges import layout
from semges.motion import MotionClip
from semges.serialization import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, PretrainedModel
from training.sample_data import REPO_ROOT

FGD_FEATURE_VERSION = 2
"""Bumped whenever the architecture, the training recipe or the training data change: FGD
numbers of different versions measure different things. Version 1 trained a new autoencoder
on every evaluated folder; version 2 is the one shipped autoencoder."""
DEFAULT_FGD_DIR = REPO_ROOT / "assets" / "fgd_autoencoder"
FGD_NOTE = (
    f"FGD uses semges' own motion autoencoder (feature version {FGD_FEATURE_VERSION}, "
    "assets/fgd_autoencoder); not comparable to EMAGE's FGD"
)
FEATURE_STRIDE_DIVISOR = 2  # FGD features come from half-overlapping windows
DOWNSAMPLING = 4  # the encoder's two stride-2 convolutions
FINGERPRINT_CHARS = 12  # of the weights' sha256, reported with every FGD


class FGDAutoencoderError(CheckpointError):
    """The FGD autoencoder folder is missing or of another feature version."""


@dataclass(frozen=True)
class FGDAutoencoderConfig:
    version: int = FGD_FEATURE_VERSION  # feature version; loading refuses any other
    input_dim: int = sum(p.rot6d_dim for p in layout.GENERATED_PARTS.values())  # 312
    hidden_dim: int = 64
    feature_dim: int = 32
    window: int = 32  # frames per feature window; a multiple of DOWNSAMPLING
    kernel_size: int = 5


class FGDAutoencoder(PretrainedModel):
    """(B, window, input_dim) 6D rotations -> (B, feature_dim) features -> reconstruction."""

    config_class = FGDAutoencoderConfig

    def __init__(self, config: FGDAutoencoderConfig) -> None:
        super().__init__()
        if config.window % DOWNSAMPLING:
            raise ValueError(f"window {config.window} is not a multiple of {DOWNSAMPLING}")
        self.config = config
        c, pad = config, config.kernel_size // 2
        self.encoder = nn.Sequential(
            nn.Conv1d(c.input_dim, c.hidden_dim, c.kernel_size, padding=pad),
            nn.GELU(),
            nn.Conv1d(c.hidden_dim, c.hidden_dim, c.kernel_size, stride=2, padding=pad),
            nn.GELU(),
            nn.Conv1d(c.hidden_dim, c.feature_dim, c.kernel_size, stride=2, padding=pad),
        )
        self.decoder = nn.Sequential(
            nn.Linear(c.feature_dim, c.hidden_dim * (c.window // DOWNSAMPLING)),
            nn.GELU(),
            nn.Unflatten(1, (c.hidden_dim, c.window // DOWNSAMPLING)),
            nn.Upsample(scale_factor=DOWNSAMPLING, mode="linear"),
            nn.Conv1d(c.hidden_dim, c.input_dim, c.kernel_size, padding=pad),
        )
        self.register_buffer("mean", torch.zeros(c.input_dim))  # of the training frames
        self.register_buffer("std", torch.ones(c.input_dim))

    def features(self, motion: torch.Tensor) -> torch.Tensor:
        """(B, window, input_dim) -> (B, feature_dim): mean over time of the encoder output."""
        x = ((motion - self.mean) / self.std).transpose(1, 2)  # (B, input_dim, window)
        return self.encoder(x).mean(dim=-1)

    def forward(self, motion: torch.Tensor) -> torch.Tensor:
        """(B, window, input_dim) -> reconstruction in normalised units (B, window, input_dim)."""
        return self.decoder(self.features(motion)).transpose(1, 2)


def part_rot6d(motion: MotionClip) -> torch.Tensor:
    """(T, 312) the generated parts' 6D rotations, concatenated: what the autoencoder sees."""
    return torch.cat([motion.part_rot6d(p) for p in layout.GENERATED_PARTS.values()], dim=-1)


def motion_windows(rot6d: torch.Tensor, window: int, stride: int) -> torch.Tensor:
    """(T, D) -> (N, window, D) windows every ``stride`` frames."""
    if rot6d.shape[0] < window:
        raise ValueError(f"sequence of {rot6d.shape[0]} frames is shorter than {window}")
    return rot6d.unfold(0, window, stride).permute(0, 2, 1).contiguous()


def fgd_features(model: FGDAutoencoder, sequences: list[torch.Tensor]) -> torch.Tensor:
    """(N, feature_dim) features of all half-overlapping windows of the (T_i, D) sequences."""
    window = model.config.window
    with torch.no_grad():
        return torch.cat(
            [
                model.features(motion_windows(s, window, window // FEATURE_STRIDE_DIVISOR))
                for s in sequences
            ]
        )


def fgd_fingerprint(model: FGDAutoencoder) -> str:
    """Which autoencoder measured an FGD: the start of a sha256 over its tensors' names and
    bytes (weights and normalisation buffers), reported beside every FGD number."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:FINGERPRINT_CHARS]


def load_fgd_autoencoder(folder: str | os.PathLike = DEFAULT_FGD_DIR) -> FGDAutoencoder:
    """The trained autoencoder in ``folder`` (eval mode); an error that says what to do when
    the folder is missing or holds another feature version."""
    folder = Path(folder)
    rebuild = f"build it with `python -m training.fgd_autoencoder --out {folder}`"
    if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise FGDAutoencoderError(
            f"no FGD autoencoder in {folder} (config.json + model.safetensors): {rebuild}"
        )
    version = json.loads((folder / CONFIG_FILE).read_text()).get("version")
    if version != FGD_FEATURE_VERSION:
        raise FGDAutoencoderError(
            f"the FGD autoencoder in {folder} has feature version {version}, this code measures "
            f"FGD with version {FGD_FEATURE_VERSION}; FGD numbers of different versions are not "
            f"comparable: use the autoencoder shipped with this code or {rebuild}"
        )
    return FGDAutoencoder.from_pretrained(folder)
