"""Pick codebook indices from the generator's code logits: when the speech says, what the
seed says.

The clip is cut into speech segments that start at word onsets (at least
``min_segment_frames`` apart, and at most ``max_segment_frames`` apart, so long words and
pauses are cut too). Each segment gets one code per part: temperature 0 takes the code its
frames' mean logits score best (deterministic); above 0 one is drawn from
softmax(mean logits / temperature) with the Gumbel-max trick, argmax(scores + g), g standard
Gumbel noise. The code holds until the next segment, so a new gesture begins where the speech
gives it a reason, and the seed picks which gesture.

Why: with noise held for fixed blocks of frames, the seed chose when the hands moved (two
different speeches at one seed shared a choreography, one speech at two seeds did not).
Redrawing the noise at word onsets alone was not enough, because the logits of a model trained
on a minute are nearly flat and the noise still chose when codes changed within a segment;
holding one code per segment makes the segment starts, that is the speech, the moments the
hands move. ``benchmarks/motion_quality.md`` ("What drives the motion") has the measured rows.

The noise of a segment is addressed by (seed, part, the segment's first frame), not drawn in
sequence: every window, batch or streamed piece that covers a segment sees the same noise,
so overlapping windows crossfade the same gesture (not two unrelated ones), and any chunking
of a clip draws the same noise.
"""

from __future__ import annotations

import numpy as np
import torch


def gumbel_from_uniform(uniform: np.ndarray) -> np.ndarray:
    """Standard Gumbel samples -log(-log(u)) from u uniform in [0, 1)."""
    tiny = np.finfo(np.float32).tiny
    return -np.log(-np.log(np.clip(uniform, tiny, 1 - 1e-7)))


def word_onset_frames(word_mask: np.ndarray, text: np.ndarray) -> np.ndarray:
    """(T,) bool word frames and (T, E) per-frame word embeddings -> sorted frame indices where
    a word starts: a word frame after a wordless one, or after a frame carrying another word
    (back-to-back words have no gap in the mask, but their embeddings differ)."""
    mask = np.asarray(word_mask, bool)
    starts = mask.copy()
    if mask.shape[0] > 1:
        changed = np.any(text[1:] != text[:-1], axis=1)
        starts[1:] = mask[1:] & (~mask[:-1] | changed)
    return np.flatnonzero(starts)


def segment_starts(
    num_frames: int, events: np.ndarray, min_frames: int, max_frames: int
) -> np.ndarray:
    """Sorted first frames of the noise segments of a clip of ``num_frames`` frames.

    Frame 0 starts the first segment; an event starts a new one unless it lies within
    ``min_frames`` of the previous start; a gap longer than ``max_frames`` is cut into equal
    segments no longer than ``max_frames``.
    """
    if not 1 <= min_frames <= max_frames:
        raise ValueError(f"need 1 <= min_frames <= max_frames, got {min_frames}, {max_frames}")
    kept = [0]
    for event in np.unique(np.asarray(events, np.int64)):
        if event >= num_frames:
            break
        if event - kept[-1] >= min_frames:
            kept.append(int(event))
    bounds = kept + [num_frames]
    starts: list[int] = []
    for first, stop in zip(bounds[:-1], bounds[1:]):
        pieces = -(-(stop - first) // max_frames)
        starts.extend(first + (i * (stop - first)) // pieces for i in range(pieces))
    return np.asarray(starts, np.int64)


def segment_noise(seed: int, stream: int, first_frames: np.ndarray, num_codes: int) -> np.ndarray:
    """(S,) first frames of segments -> (S, K) float32 Gumbel noise, one row per segment.

    A row depends on (seed, stream, first frame) alone: whatever window, batch or piece asks
    for a segment, it gets the same noise. ``stream`` tells the parts of one seed apart.
    """
    rows = [
        gumbel_from_uniform(
            np.random.default_rng((seed, stream, int(first))).random(num_codes, dtype=np.float32)
        )
        for first in first_frames
    ]
    return np.stack(rows).astype(np.float32) if rows else np.zeros((0, num_codes), np.float32)


def window_segments(
    starts: np.ndarray, window_starts: list[int], window: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Segments seen by each window of a batch.

    ``starts``: sorted first frames of a clip's segments; windows cover frames
    [s, s + window). Returns (B, window) segment numbers counted from each window's first
    segment, and per window the first frames of its segments (frames past the last start
    belong to the last segment).
    """
    ids, firsts = [], []
    for start in window_starts:
        segment = np.searchsorted(starts, np.arange(start, start + window), side="right") - 1
        ids.append(segment - segment[0])
        firsts.append(starts[segment[0] : segment[-1] + 1])
    return np.stack(ids), firsts


def sample_held_codes(
    logits: torch.Tensor, segments: torch.Tensor, temperature: float, noise: torch.Tensor | None
) -> torch.Tensor:
    """(B, T, K) code logits -> (B, T) code indices, one code per speech segment.

    ``segments`` (B, T) long: each frame's segment number within its window (0, 1, ...,
    non-decreasing). A segment scores the codes by its frames' mean logits; ``temperature`` 0
    takes the best code, above 0 samples softmax(mean logits / temperature) with the Gumbel
    noise ``noise`` (B, S, K), row s for segment s (S at least the number of segments of
    every window). The gesture chosen at a segment's start holds until the next one: the
    hands move where the speech starts a segment, wherever the seed sends them.
    """
    if temperature < 0:
        raise ValueError("temperature must be >= 0")
    batch, frames, codes = logits.shape
    num_segments = int(segments.max()) + 1
    index = segments.to(logits.device)
    sums = torch.zeros(batch, num_segments, codes, device=logits.device)
    sums.scatter_add_(1, index[..., None].expand(-1, -1, codes), logits.float())
    counts = torch.zeros(batch, num_segments, device=logits.device)
    counts.scatter_add_(1, index, torch.ones(batch, frames, device=logits.device))
    scores = sums / counts.clamp(min=1)[..., None]  # (B, S, K) mean logits per segment
    if temperature > 0:
        if noise is None or noise.shape[0] != batch or noise.shape[1] < num_segments:
            raise ValueError(f"sampling needs (B, S, K) noise with S >= {num_segments}")
        scores = scores / temperature + noise[:, :num_segments].to(logits.device)
    chosen = scores.argmax(dim=-1)  # (B, S)
    return chosen.gather(1, index)
