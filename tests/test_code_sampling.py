"""Codes from logits: argmax at temperature 0, held Gumbel noise above it."""

from __future__ import annotations

import pytest
import torch

from semges.models.code_sampling import sample_codes
from semges.models.quantizer import code_perplexity


def _logits(frames: int = 4000, codes: int = 16) -> torch.Tensor:
    torch.manual_seed(0)
    return (torch.randn(1, 1, codes) * 2).expand(1, frames, codes).contiguous()


def test_temperature_zero_is_the_argmax_and_ignores_the_seed() -> None:
    logits = torch.randn(2, 50, 8)
    first = sample_codes(logits, 0.0, torch.Generator().manual_seed(1), hold_frames=4)
    second = sample_codes(logits, 0.0, torch.Generator().manual_seed(2), hold_frames=4)
    assert torch.equal(first, logits.argmax(-1)) and torch.equal(first, second)


def test_each_frame_samples_its_softmax() -> None:
    logits = _logits()
    codes = sample_codes(logits, 1.0, torch.Generator().manual_seed(0), hold_frames=1)
    frequency = torch.bincount(codes.flatten(), minlength=16).float() / codes.numel()
    expected = torch.softmax(logits[0, 0], dim=-1)
    assert (frequency - expected).abs().max() < 0.03


def test_held_noise_repeats_the_choice_while_logits_stay_the_same() -> None:
    codes = sample_codes(_logits(64), 1.0, torch.Generator().manual_seed(0), hold_frames=8)
    segments = codes.view(8, 8)
    assert (segments == segments[:, :1]).all()  # constant within each held segment
    assert segments[:, 0].unique().numel() > 1  # and redrawn between segments


def test_sampled_code_entropy_rises_smoothly_with_temperature() -> None:
    logits = _logits()
    temperatures = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]
    entropies = [float(code_perplexity(sample_codes(
        logits, t, torch.Generator().manual_seed(0), hold_frames=1), 16).log())
        for t in temperatures]
    assert entropies[0] == pytest.approx(0.0, abs=1e-6)
    assert all(b > a for a, b in zip(entropies, entropies[1:]))
    assert max(b - a for a, b in zip(entropies, entropies[1:])) < 1.2  # no sudden jump
    assert entropies[-1] < torch.log(torch.tensor(16.0))  # still not uniform at 4


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        sample_codes(torch.zeros(1, 2, 3), -1.0, None, 1)
    with pytest.raises(ValueError):
        sample_codes(torch.zeros(1, 2, 3), 1.0, None, 0)
