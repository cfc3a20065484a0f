"""The motion autoencoder whose features define semges' FGD (version ``FGD_FEATURE_VERSION``).

This is NOT EMAGE's FGD network: our FGD numbers are comparable only with other semges FGD
numbers of the same feature version. The autoencoder sees windows of the generated parts'
6D rotations (upper body + hands), a conv encoder pools each window to one feature vector,
and a conv decoder reconstructs the window from it. It is trained deterministically (fixed
seed, fixed steps) on real motion, so the same data always gives the same feature network.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from semges import layout
from semges.serialization import PretrainedModel

FGD_FEATURE_VERSION = 1
FGD_NOTE = (f"FGD uses semges' own motion autoencoder (feature version {FGD_FEATURE_VERSION}); "
            "not comparable to EMAGE's FGD")


@dataclass(frozen=True)
class FGDAutoencoderConfig:
    version: int = FGD_FEATURE_VERSION
    input_dim: int = sum(p.rot6d_dim for p in layout.GENERATED_PARTS.values())  # 258
    hidden_dim: int = 64
    feature_dim: int = 32
    window: int = 32  # frames per feature window
    kernel_size: int = 5


class FGDAutoencoder(PretrainedModel):
    """(B, window, input_dim) 6D rotations -> (B, feature_dim) features -> reconstruction."""

    config_class = FGDAutoencoderConfig

    def __init__(self, config: FGDAutoencoderConfig) -> None:
        super().__init__()
        self.config = config
        c, pad = config, config.kernel_size // 2
        self.encoder = nn.Sequential(
            nn.Conv1d(c.input_dim, c.hidden_dim, c.kernel_size, padding=pad), nn.GELU(),
            nn.Conv1d(c.hidden_dim, c.hidden_dim, c.kernel_size, stride=2, padding=pad), nn.GELU(),
            nn.Conv1d(c.hidden_dim, c.feature_dim, c.kernel_size, stride=2, padding=pad),
        )
        self.decoder = nn.Sequential(
            nn.Linear(c.feature_dim, c.hidden_dim * (c.window // 4)), nn.GELU(),
            nn.Unflatten(1, (c.hidden_dim, c.window // 4)),
            nn.Upsample(scale_factor=4, mode="linear"),
            nn.Conv1d(c.hidden_dim, c.input_dim, c.kernel_size, padding=pad),
        )
        self.register_buffer("mean", torch.zeros(c.input_dim))
        self.register_buffer("std", torch.ones(c.input_dim))

    def features(self, motion: torch.Tensor) -> torch.Tensor:
        """(B, window, input_dim) -> (B, feature_dim): mean over time of the encoder output."""
        x = ((motion - self.mean) / self.std).transpose(1, 2)
        return self.encoder(x).mean(dim=-1)

    def forward(self, motion: torch.Tensor) -> torch.Tensor:
        """(B, window, input_dim) -> reconstruction in normalised units (B, window, input_dim)."""
        return self.decoder(self.features(motion)).transpose(1, 2)


def motion_windows(rot6d: torch.Tensor, window: int, stride: int) -> torch.Tensor:
    """(T, D) -> (N, window, D) windows every ``stride`` frames."""
    if rot6d.shape[0] < window:
        raise ValueError(f"sequence of {rot6d.shape[0]} frames is shorter than {window}")
    return rot6d.unfold(0, window, stride).permute(0, 2, 1).contiguous()


def train_fgd_autoencoder(sequences: list[torch.Tensor], config: FGDAutoencoderConfig = FGDAutoencoderConfig(),
                          steps: int = 300, batch_size: int = 64, seed: int = 0) -> FGDAutoencoder:
    """Fit the autoencoder on real (T_i, input_dim) sequences; deterministic for a seed."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = FGDAutoencoder(config)
    windows = torch.cat([motion_windows(s, config.window, config.window // 4) for s in sequences])
    frames = windows.flatten(0, 1)
    model.mean.copy_(frames.mean(dim=0))
    model.std.copy_(frames.std(dim=0).clamp(min=1e-2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        batch = windows[torch.randint(len(windows), (batch_size,), generator=generator)]
        loss = F.mse_loss(model(batch), (batch - model.mean) / model.std)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    return model.eval()


def fgd_features(model: FGDAutoencoder, sequences: list[torch.Tensor]) -> torch.Tensor:
    """(N, feature_dim) features of all half-overlapping windows of the sequences."""
    window = model.config.window
    with torch.no_grad():
        return torch.cat([model.features(motion_windows(s, window, window // 2)) for s in sequences])
