"""Stage 1: a motion VQ-VAE for one body part (SemGes trains one for the upper body, one for
the hands). One code per frame: no temporal downsampling."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from semges import layout
from semges.models.configs import VQVAEConfig
from semges.models.quantizer import CodebookQuantizer, QuantizerOutput
from semges.rotations import axis_angle_to_rot6d
from semges.serialization import PretrainedModel

LEAKY_RELU_SLOPE = 0.2  # activation of every conv stack, as in the SemGes / EMAGE VQ-VAEs


@dataclass
class VQVAEOutput:
    reconstruction: torch.Tensor  # (B, T, D) 6D rotations
    latents: torch.Tensor  # (B, T, C) encoder output before quantization
    quantizer: QuantizerOutput


class ResidualBlock(nn.Module):
    """x + conv(act(conv(act(x)))), temporal length kept."""

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__()
        padding = kernel_size // 2
        self.body = nn.Sequential(
            nn.LeakyReLU(LEAKY_RELU_SLOPE),
            nn.Conv1d(channels, channels, kernel_size, padding=padding, padding_mode="replicate"),
            nn.LeakyReLU(LEAKY_RELU_SLOPE),
            nn.Conv1d(channels, channels, kernel_size, padding=padding, padding_mode="replicate"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T)
        return x + self.body(x)


def conv_stack(in_dim: int, hidden_dim: int, out_dim: int, blocks: int, kernel: int) -> nn.Module:
    """Conv in -> residual blocks -> activation -> conv out, all length-preserving."""
    padding = kernel // 2
    return nn.Sequential(
        nn.Conv1d(in_dim, hidden_dim, kernel, padding=padding, padding_mode="replicate"),
        *[ResidualBlock(hidden_dim, kernel) for _ in range(blocks)],
        nn.LeakyReLU(LEAKY_RELU_SLOPE),
        nn.Conv1d(hidden_dim, out_dim, kernel, padding=padding, padding_mode="replicate"),
    )


class MotionVQVAE(PretrainedModel):
    """(B, T, joints * 6) rotations <-> (B, T) code indices of a learned codebook.

    Inputs are normalised with per-channel ``mean`` / ``std`` buffers that training sets from
    the data (saved with the weights).
    """

    config_class = VQVAEConfig

    def __init__(self, config: VQVAEConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.encoder = conv_stack(
            c.input_dim, c.hidden_dim, c.code_dim, c.num_res_blocks, c.kernel_size
        )
        self.decoder = conv_stack(
            c.code_dim, c.hidden_dim, c.input_dim, c.num_res_blocks, c.kernel_size
        )
        self.quantizer = CodebookQuantizer(
            c.code_dim,
            c.codebook_size,
            c.ema_decay,
            c.commitment_weight,
            c.kmeans_init,
            c.dead_code_threshold,
        )
        # Until training sets it, the mean pose is the rest pose (identity rotations): the
        # pipeline eases toward it in pauses, so it must always be a valid pose.
        identity = axis_angle_to_rot6d(
            torch.zeros(c.input_dim // layout.ROT6D_DIM, layout.AXIS_ANGLE_DIM)
        )
        self.register_buffer("mean", identity.flatten())
        self.register_buffer("std", torch.ones(c.input_dim))

    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor, min_std: float) -> None:
        """Store per-channel statistics of the training motion (D,); std floored at min_std."""
        self.mean.copy_(mean)
        self.std.copy_(std.clamp(min=min_std))

    def encode(self, motion: torch.Tensor) -> torch.Tensor:
        """(B, T, D) 6D rotations -> (B, T, C) continuous latents."""
        normalized = (motion - self.mean) / self.std
        return self.encoder(normalized.transpose(1, 2)).transpose(1, 2)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, T, C) code vectors -> (B, T, D) 6D rotations."""
        normalized = self.decoder(codes.transpose(1, 2)).transpose(1, 2)
        return normalized * self.std + self.mean

    def decode_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """(B, T) code indices -> (B, T, D) 6D rotations."""
        return self.decode(self.quantizer.indices_to_codes(indices))

    def forward(self, motion: torch.Tensor) -> VQVAEOutput:
        """(B, T, D) -> reconstruction through the quantized bottleneck."""
        latents = self.encode(motion)
        quantized = self.quantizer(latents)
        return VQVAEOutput(self.decode(quantized.quantized), latents, quantized)
