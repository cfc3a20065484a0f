"""Statistics of a speaking face: how far the mouth opens, how that follows the loudness of
the speech, how much the expressions move. Pure functions on numpy arrays.

Without the (licensed) SMPL-X / FLAME model file, lip vertices cannot be computed here; the
mouth opening is the jaw's opening rotation, which is what opens the mouth of the SMPL-X mesh
(the expression coefficients shape the lips on top of it).
"""

from __future__ import annotations

import numpy as np

from semges import layout

LOUDNESS_WINDOW_FRAMES: float = 2.0
"""Length of the RMS window around each frame time, in motion frames (67 ms at 30 fps)."""


def mouth_opening_degrees(poses: np.ndarray) -> np.ndarray:
    """(T, 165) axis-angle poses -> (T,) jaw opening in degrees (positive: mouth opens).

    The opening axis component of the jaw's axis-angle: for the jaw's small rotations (a few
    degrees) it is the rotation angle about that axis.
    """
    column = layout.FACE_JAW.pose_columns[layout.JAW_OPENING_AXIS]
    return np.degrees(poses[:, column].astype(np.float64))


def speech_loudness(
    samples: np.ndarray, sample_rate: int, num_frames: int, fps: float = layout.FPS
) -> np.ndarray:
    """(N,) mono samples -> (num_frames,) RMS amplitude of the ``LOUDNESS_WINDOW_FRAMES``
    window centred on each frame time ``i / fps`` (zero-padded at both ends)."""
    half = max(1, round(LOUDNESS_WINDOW_FRAMES * sample_rate / fps / 2))
    squared = np.concatenate([np.zeros(half), samples.astype(np.float64) ** 2, np.zeros(half)])
    cumulative = np.concatenate([[0.0], np.cumsum(squared)])
    centres = np.round(np.arange(num_frames) * sample_rate / fps).astype(np.int64) + half
    centres = np.clip(centres, half, squared.shape[0] - half)
    energy = (cumulative[centres + half] - cumulative[centres - half]) / (2 * half)
    return np.sqrt(np.maximum(energy, 0.0))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two (T,) series; NaN when either is constant."""
    a, b = a.astype(np.float64) - a.mean(), b.astype(np.float64) - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def expression_std(expressions: np.ndarray) -> float:
    """(T, E) expression coefficients -> the mean over coefficients of their std over time."""
    return float(expressions.astype(np.float64).std(axis=0).mean())


def expression_error(generated: np.ndarray, real: np.ndarray) -> float:
    """Mean absolute difference of (T, E) expression coefficients, frame by frame."""
    return float(np.abs(generated.astype(np.float64) - real.astype(np.float64)).mean())


def expression_speed(expressions: np.ndarray, fps: float = layout.FPS) -> np.ndarray:
    """(T, E) -> (T - 1,) mean absolute change of the coefficients per second."""
    return np.abs(np.diff(expressions.astype(np.float64), axis=0)).mean(axis=1) * fps
