"""Run a window-sized model over a sequence of any length.

The sequence is cut into windows of the trained length that overlap; every window is predicted
(in batches, so memory is bounded by ``batch_windows * window``, not by the clip length) and
neighbouring windows are crossfaded linearly across their whole overlap. Clips shorter than one
window are padded to a full window by repeating their last frame, so the model always sees the
length it was trained on, and the padding is cropped off afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class WindowPlan:
    """Where the windows of a clip start, and how long each is."""

    num_frames: int
    window: int
    starts: tuple[int, ...]

    @property
    def padded_frames(self) -> int:
        """Length of the (possibly padded) sequence the windows cover."""
        return max(self.num_frames, self.window)


def plan_windows(num_frames: int, window: int, overlap: int) -> WindowPlan:
    """Window starts for a clip, spread evenly from 0 to flush with the end.

    As few windows as keep every overlap at least ``overlap`` frames; spreading them evenly
    (rather than stepping by ``window - overlap`` and squeezing the last one in) avoids a last
    window that almost repeats its neighbour.
    """
    if num_frames < 1:
        raise ValueError("a clip needs at least one frame")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in [0, window), got {overlap} for window {window}")
    span = max(num_frames - window, 0)
    gaps = math.ceil(span / (window - overlap))
    starts = [round(i * span / gaps) for i in range(gaps)] + [span]
    return WindowPlan(num_frames, window, tuple(starts))


def crossfade_weights(plan: WindowPlan) -> torch.Tensor:
    """(num_windows, window) blend weights: linear ramps across each overlap with a neighbour.

    Where exactly two windows overlap, the ramps of the two sum to one; the stitched result
    divides by the summed weights anyway, so three-way overlaps stay normalised.
    """
    weights = torch.ones(len(plan.starts), plan.window)
    position = torch.arange(plan.window, dtype=torch.float32) + 0.5
    for i, start in enumerate(plan.starts):
        if i > 0:
            ramp = plan.starts[i - 1] + plan.window - start  # frames shared with the previous
            if ramp > 0:
                weights[i] = torch.minimum(weights[i], (position / ramp).clamp(max=1.0))
        if i + 1 < len(plan.starts):
            ramp = start + plan.window - plan.starts[i + 1]  # frames shared with the next
            if ramp > 0:
                weights[i] = torch.minimum(
                    weights[i], ((plan.window - position) / ramp).clamp(max=1.0)
                )
    return weights


def pad_to_window(sequence: torch.Tensor, window: int) -> torch.Tensor:
    """(T, ...) -> (max(T, window), ...) by repeating the last frame."""
    missing = window - sequence.shape[0]
    if missing <= 0:
        return sequence
    return torch.cat([sequence, sequence[-1:].expand(missing, *sequence.shape[1:])])


def run_windowed(
    predict: Callable[[list[int]], torch.Tensor],
    plan: WindowPlan,
    output_dim: int,
    batch_windows: int,
) -> torch.Tensor:
    """Stitch window predictions into one (num_frames, output_dim) sequence.

    ``predict(starts)`` gets a batch of window starts (into the padded sequence) and returns
    (len(starts), window, output_dim). Batches are taken in order, so a random generator used
    inside ``predict`` gives the same result for the same seed.
    """
    weights = crossfade_weights(plan)
    total = torch.zeros(plan.padded_frames, output_dim)
    weight_sum = torch.zeros(plan.padded_frames, 1)
    for first in range(0, len(plan.starts), batch_windows):
        starts = list(plan.starts[first : first + batch_windows])
        predictions = predict(starts).float().cpu()  # (B, window, D)
        for offset, start in enumerate(starts):
            w = weights[first + offset, :, None]
            total[start : start + plan.window] += w * predictions[offset]
            weight_sum[start : start + plan.window] += w
    return (total / weight_sum)[: plan.num_frames]


def gaussian_smooth(sequence: torch.Tensor, sigma_frames: float) -> torch.Tensor:
    """(T, D) -> (T, D) convolved over time with a normalised Gaussian of std ``sigma_frames``
    (truncated at 3 sigma, edges padded by repeating the end frames); 0 returns the input.

    One code per frame lets neighbouring frames pick codes of different gestures; the
    decoder smooths only over its few-frame receptive field, and the remaining frame-to-frame
    steps show as jerk. A Gaussian of a frame or two removes them and keeps the gestures.
    """
    if sigma_frames <= 0:
        return sequence
    radius = max(1, math.ceil(3 * sigma_frames))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (offsets / sigma_frames) ** 2)
    kernel = (kernel / kernel.sum()).to(sequence)
    padded = torch.cat(
        [sequence[:1].expand(radius, -1), sequence, sequence[-1:].expand(radius, -1)]
    )  # (T + 2r, D)
    # A weighted sum of 2r + 1 shifted copies: memory (T, D) at any length, where conv1d's
    # im2col would hold (D, 2r + 1, T) (0.9 GB for 30 minutes of motion).
    num_frames = sequence.shape[0]
    smoothed = torch.zeros_like(sequence)
    for shift, weight in enumerate(kernel):
        smoothed += weight * padded[shift : shift + num_frames]
    return smoothed
