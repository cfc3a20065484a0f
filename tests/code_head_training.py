"""Train a tiny generator's upper-body code head on synthetic batches (for tests that check
what the architecture can learn, not what the shipped checkpoint learned)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from semges.models.generator import SemGesGenerator

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
"""audio (B, T, A), text (B, T, E), word mask (B, T), speaker (B,), codes (B, T)."""


def fit_upper_body_codes(
    generator: SemGesGenerator,
    next_batch: Callable[[], Batch],
    steps: int,
    learning_rate: float = 3e-3,
) -> None:
    """Cross-entropy on the upper body's code logits for ``steps`` batches from
    ``next_batch``; leaves the generator in eval mode."""
    optimizer = torch.optim.Adam(generator.parameters(), lr=learning_rate)
    for _ in range(steps):
        audio, text, mask, speaker, codes = next_batch()
        logits = generator(audio, text, mask, speaker).code_logits["upper_body"]
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), codes.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    generator.eval()
