"""A small adapter around ``vector_quantize_pytorch.VectorQuantize``.

It fixes the interface the rest of semges needs: quantize a latent sequence during training
(EMA codebook, k-means init and dead-code replacement are library flags), and, with a frozen
codebook, snap latents to the nearest code. Sampling codes at inference works on the
generator's code logits (``semges.models.code_sampling``), not on codebook distances: those
are tiny (~0.01), so any temperature above ~0.05 sampled codes almost uniformly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from vector_quantize_pytorch import VectorQuantize


@dataclass
class QuantizerOutput:
    quantized: torch.Tensor  # (B, T, C) codebook vectors, straight-through in training
    indices: torch.Tensor  # (B, T) long
    commit_loss: torch.Tensor  # () weighted commitment loss
    perplexity: torch.Tensor  # () exp(entropy) of code usage in this batch; 1 .. codebook_size


def code_perplexity(indices: torch.Tensor, codebook_size: int) -> torch.Tensor:
    """exp(entropy) of the empirical code distribution: how many codes are effectively used."""
    counts = torch.bincount(indices.flatten(), minlength=codebook_size).float()
    probs = counts / counts.sum().clamp(min=1.0)
    entropy = -(probs * torch.log(probs.clamp(min=1e-12))).sum()
    return entropy.exp()


class CodebookQuantizer(nn.Module):
    """Vector quantization of (B, T, C) latents with a learned codebook of K codes."""

    def __init__(
        self,
        code_dim: int,
        codebook_size: int,
        ema_decay: float,
        commitment_weight: float,
        kmeans_init: bool,
        dead_code_threshold: int,
    ) -> None:
        super().__init__()
        self.codebook_size = codebook_size
        self.vq = VectorQuantize(
            dim=code_dim,
            codebook_size=codebook_size,
            decay=ema_decay,
            commitment_weight=commitment_weight,
            kmeans_init=kmeans_init,
            threshold_ema_dead_code=dead_code_threshold,
        )

    @property
    def codebook(self) -> torch.Tensor:
        """(K, C) the code vectors."""
        return self.vq.codebook

    def forward(self, latents: torch.Tensor) -> QuantizerOutput:
        """(B, T, C) latents -> nearest codes; updates the codebook (EMA) in training mode."""
        quantized, indices, commit_loss = self.vq(latents)
        return QuantizerOutput(
            quantized=quantized,
            indices=indices,
            commit_loss=commit_loss.sum(),
            perplexity=code_perplexity(indices, self.codebook_size),
        )

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        """(B, T) long -> (B, T, C) code vectors."""
        return self.vq.get_output_from_indices(indices)

    def code_distances(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, K) mean squared distance per dimension to every code."""
        codebook = self.codebook.to(latents.dtype)
        return (
            torch.cdist(latents, codebook.expand(latents.shape[0], -1, -1)).square()
            / (latents.shape[-1])
        )

    def snap(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, T, C) latents -> (B, T) indices of the nearest codes."""
        return self.code_distances(latents).argmin(dim=-1)
