"""When the body (and the face) is active: a (T,) weight in [0, 1] of the generated motion
against the rest pose, 1 while words are spoken and easing to 0 in long silences and over the
end of a clip. The pipeline eases the body with it and, with shorter settings, the face.
"""

from __future__ import annotations

import numpy as np


def smoothstep(x: np.ndarray) -> np.ndarray:
    """3x^2 - 2x^3 on x clipped to [0, 1]: a ramp that starts and ends at rest."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def frames_to_nearest_word(word_mask: np.ndarray) -> np.ndarray:
    """(T,) bool -> (T,) float distance in frames to the nearest frame with a word (inf when
    the clip has no word)."""
    frames = np.arange(word_mask.shape[0], dtype=np.float64)
    previous = np.maximum.accumulate(np.where(word_mask, frames, -np.inf))  # last word so far
    following = np.minimum.accumulate(np.where(word_mask, frames, np.inf)[::-1])[::-1]
    return np.minimum(frames - previous, following - frames)


def activity_envelope(
    word_mask: np.ndarray, fps: float, hold_after_words_s: float, settle_s: float
) -> np.ndarray:
    """(T,) word mask -> (T,) weight in [0, 1] of the generated motion against the rest pose.

    1 within ``hold_after_words_s`` of a spoken word; from there it eases to 0 over
    ``settle_s`` (a pause shorter than twice the hold is not touched). Over the last
    ``settle_s`` of the clip it eases to 0 as well, so every clip ends at rest.
    """
    num_frames = word_mask.shape[0]
    settle_frames = max(settle_s * fps, 1.0)
    distance = frames_to_nearest_word(word_mask.astype(bool))
    envelope = smoothstep(1.0 - (distance - hold_after_words_s * fps) / settle_frames)
    to_end = num_frames - 1 - np.arange(num_frames)
    return (envelope * smoothstep(to_end / settle_frames)).astype(np.float32)


def lookahead_envelope(
    active: np.ndarray,
    frames: np.ndarray,
    hold_frames: float,
    settle_frames: float,
    rise_frames: float,
) -> np.ndarray:
    """The live counterpart of :func:`activity_envelope`, for a stream known only a few frames
    ahead.

    ``active`` (N,) bool: speech activity of the N frames known so far (frame 0 the oldest
    kept); ``frames`` (F,) indices into it. A frame is at 1 within ``hold_frames`` after
    activity and eases to 0 over ``settle_frames`` after that, as offline; before activity it
    rises over ``rise_frames`` (the lookahead: offline it starts ``hold`` earlier, which the
    stream cannot know). Returns (F,) float32 in [0, 1].
    """
    index = np.arange(active.shape[0], dtype=np.float64)
    previous = np.maximum.accumulate(np.where(active, index, -np.inf))
    following = np.minimum.accumulate(np.where(active, index, np.inf)[::-1])[::-1]
    since = index[frames] - previous[frames]
    until = following[frames] - index[frames]
    after = smoothstep(1.0 - (since - hold_frames) / max(settle_frames, 1.0))
    before = smoothstep(1.0 - until / max(rise_frames, 1.0))
    return np.maximum(after, before).astype(np.float32)
