"""Codes from logits: segments that start at word onsets, one code per segment, noise addressed
by (seed, part, segment)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semges.models.code_sampling import (
    sample_held_codes,
    segment_noise,
    segment_starts,
    window_segments,
    word_onset_frames,
)
from semges.models.quantizer import code_perplexity


def _noise(seed: int, segments: int, codes: int) -> torch.Tensor:
    return torch.from_numpy(segment_noise(seed, 0, np.arange(segments), codes))[None]


def test_word_onsets_include_back_to_back_words() -> None:
    mask = np.array([0, 1, 1, 1, 1, 0, 0, 1, 1], bool)
    text = np.zeros((9, 2), np.float32)
    text[1:3], text[3:5], text[7:9] = 1.0, 2.0, 3.0  # words at 1-2, 3-4 (no gap), 7-8
    assert word_onset_frames(mask, text).tolist() == [1, 3, 7]


def test_segments_keep_events_apart_and_cut_long_gaps() -> None:
    starts = segment_starts(100, np.array([3, 5, 20, 24, 90, 200]), min_frames=5, max_frames=30)
    # 3 is too close to the start at 0, 5 is kept, 24 is too close to 20, the gap 20..90 is
    # cut into three equal pieces, and 200 lies past the clip
    assert starts.tolist() == [0, 5, 20, 43, 66, 90]
    with pytest.raises(ValueError):
        segment_starts(10, np.array([]), min_frames=0, max_frames=5)


def test_window_segments_count_from_each_windows_first_segment() -> None:
    starts = np.array([0, 5, 20, 43])
    ids, firsts = window_segments(starts, [0, 16], window=8)
    assert ids.tolist() == [[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 1, 1, 1, 1]]
    assert [f.tolist() for f in firsts] == [[0, 5], [5, 20]]


def test_noise_depends_on_seed_part_and_segment_only() -> None:
    firsts = np.array([0, 12, 40])
    noise = segment_noise(7, 1, firsts, 16)
    np.testing.assert_array_equal(noise[1:], segment_noise(7, 1, firsts[1:], 16))  # any window
    assert not np.array_equal(noise, segment_noise(8, 1, firsts, 16))  # another seed
    assert not np.array_equal(noise, segment_noise(7, 2, firsts, 16))  # another part
    assert noise.shape == (3, 16) and noise.dtype == np.float32


def test_one_code_per_segment_chosen_by_its_mean_logits() -> None:
    logits = torch.zeros(1, 6, 3)
    logits[0, :2, 1] = 5.0  # segment 0 (frames 0-2): code 1 wins on average
    logits[0, 2, 2] = 6.0
    logits[0, 3:, 2] = 1.0  # segment 1 (frames 3-5): code 2
    segments = torch.tensor([[0, 0, 0, 1, 1, 1]])
    codes = sample_held_codes(logits, segments, 0.0, None)
    assert codes.tolist() == [[1, 1, 1, 2, 2, 2]]


def test_temperature_zero_ignores_the_noise() -> None:
    logits = torch.randn(2, 40, 8)
    segments = torch.arange(40).div(5, rounding_mode="floor").expand(2, 40)
    first = sample_held_codes(logits, segments, 0.0, torch.randn(2, 8, 8))
    second = sample_held_codes(logits, segments, 0.0, None)
    assert torch.equal(first, second)


def test_each_segment_samples_its_softmax() -> None:
    torch.manual_seed(0)
    segments_count, codes = 4000, 16
    logits = (torch.randn(1, 1, codes) * 2).expand(1, segments_count, codes).contiguous()
    segments = torch.arange(segments_count)[None]  # one frame per segment
    drawn = sample_held_codes(logits, segments, 1.0, _noise(0, segments_count, codes))
    frequency = torch.bincount(drawn.flatten(), minlength=codes).float() / drawn.numel()
    assert (frequency - torch.softmax(logits[0, 0], dim=-1)).abs().max() < 0.03


def test_codes_change_only_where_a_segment_starts() -> None:
    torch.manual_seed(0)
    logits = torch.randn(1, 64, 32)  # logits that change every frame
    segments = torch.arange(64).div(8, rounding_mode="floor")[None]
    codes = sample_held_codes(logits, segments, 1.0, _noise(3, 8, 32))
    by_segment = codes.view(8, 8)
    assert (by_segment == by_segment[:, :1]).all()
    assert by_segment[:, 0].unique().numel() > 1


def test_sampled_code_entropy_rises_smoothly_with_temperature() -> None:
    torch.manual_seed(0)
    logits = (torch.randn(1, 1, 16) * 2).expand(1, 4000, 16).contiguous()
    segments = torch.arange(4000)[None]
    temperatures = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]
    entropies = [
        float(
            code_perplexity(sample_held_codes(logits, segments, t, _noise(0, 4000, 16)), 16).log()
        )
        for t in temperatures
    ]
    assert entropies[0] == pytest.approx(0.0, abs=1e-6)
    assert all(b > a for a, b in zip(entropies, entropies[1:]))
    assert max(b - a for a, b in zip(entropies, entropies[1:])) < 1.2  # no sudden jump
    assert entropies[-1] < torch.log(torch.tensor(16.0))  # still not uniform at 4


def test_rejects_bad_arguments() -> None:
    segments = torch.zeros(1, 2, dtype=torch.long)
    with pytest.raises(ValueError):
        sample_held_codes(torch.zeros(1, 2, 3), segments, -1.0, None)
    with pytest.raises(ValueError, match="noise"):
        sample_held_codes(torch.zeros(1, 2, 3), segments, 1.0, None)
