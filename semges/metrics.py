"""Evaluation metrics for co-speech gesture, each a pure numpy function.

- ``frechet_distance``: FGD given motion features (our FGD uses semges' own motion
  autoencoder, so its numbers are not comparable to EMAGE's).
- ``motion_beats`` / ``beat_consistency``: BC, audio onsets vs local minima of joint speed.
- ``l1_divergence``: diversity, mean L1 distance of joint positions to the sequence mean.
- ``srgr``: semantic-relevance-weighted gesture recall (BEAT).
- ``mean_jerk``: smoothness, mean magnitude of the third derivative of joint positions.
- ``nearest_template_recall``: share of samples nearest their own template.
"""

from __future__ import annotations

import numpy as np

BC_SIGMA_S = 0.3  # width of the BC kernel, seconds (BEAT / EMAGE)
BEAT_ORDER_FRAMES = 3  # a motion beat is the slowest frame within +-0.1 s at 30 fps
SRGR_THRESHOLD_M = 0.1  # joint-position distance under which a joint counts as recalled


def frechet_distance(real: np.ndarray, generated: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to (N, D) and (M, D) feature sets.

    ||mu_r - mu_g||^2 + tr(S_r + S_g - 2 (S_r S_g)^(1/2)); the trace of the matrix square root
    is the sum of the square roots of the (real, non-negative) eigenvalues of S_r S_g.
    """
    mu_r, mu_g = real.mean(axis=0), generated.mean(axis=0)
    cov_r = np.atleast_2d(np.cov(real, rowvar=False))
    cov_g = np.atleast_2d(np.cov(generated, rowvar=False))
    eigenvalues = np.linalg.eigvals(cov_r @ cov_g).real.clip(min=0)
    trace_sqrt = np.sqrt(eigenvalues).sum()
    return float(((mu_r - mu_g) ** 2).sum() + np.trace(cov_r) + np.trace(cov_g) - 2 * trace_sqrt)


def joint_speed(positions: np.ndarray, fps: float) -> np.ndarray:
    """(T, J, 3) positions -> (T,) mean joint speed (m/s), central differences, ends copied."""
    if positions.shape[0] < 3:
        raise ValueError("need at least 3 frames")
    speed = np.linalg.norm(positions[2:] - positions[:-2], axis=-1).mean(axis=-1) * fps / 2
    return np.concatenate([speed[:1], speed, speed[-1:]])


def motion_beats(positions: np.ndarray, fps: float, order: int = BEAT_ORDER_FRAMES) -> np.ndarray:
    """(T, J, 3) joint positions -> times (s) of motion beats: frames whose mean joint speed is
    the minimum of the ``order`` frames on each side and lower than the frame before."""
    speed = joint_speed(positions, fps)
    if speed.size < 2 * order + 1:
        return np.zeros(0)
    windows = np.lib.stride_tricks.sliding_window_view(speed, 2 * order + 1)  # (T - 2 order, .)
    centre = speed[order:-order]
    is_min = (centre <= windows.min(axis=1)) & (centre < speed[order - 1 : speed.size - order - 1])
    return (np.flatnonzero(is_min) + order) / fps


def beat_consistency(
    audio_beats: np.ndarray, motion_beat_times: np.ndarray, sigma: float = BC_SIGMA_S
) -> float:
    """Mean over audio beats of exp(-d^2 / (2 sigma^2)), d (s) to the nearest motion beat."""
    audio_beats = np.asarray(audio_beats, dtype=np.float64)
    motion_beat_times = np.asarray(motion_beat_times, dtype=np.float64)
    if audio_beats.size == 0:
        raise ValueError("no audio beats")
    if motion_beat_times.size == 0:
        return 0.0
    distance = np.abs(audio_beats[:, None] - motion_beat_times[None]).min(axis=1)
    return float(np.exp(-(distance**2) / (2 * sigma**2)).mean())


def l1_divergence(positions: np.ndarray) -> float:
    """(T, J, 3) -> mean over frames and joints of the L1 distance (m) to the sequence mean."""
    return float(np.abs(positions - positions.mean(axis=0)).sum(axis=-1).mean())


def mean_jerk(positions: np.ndarray, fps: float) -> float:
    """(T, J, 3) -> mean over frames and joints of |d^3 p / dt^3| (m/s^3)."""
    if positions.shape[0] < 4:
        raise ValueError("need at least 4 frames")
    jerk = np.diff(positions, n=3, axis=0) * fps**3
    return float(np.linalg.norm(jerk, axis=-1).mean())


def srgr(
    generated: np.ndarray,
    real: np.ndarray,
    relevance: np.ndarray,
    threshold: float = SRGR_THRESHOLD_M,
) -> float:
    """Semantic-relevance gesture recall: sum_t s_t r_t / sum_t s_t.

    generated, real: (T, J, 3) joint positions; relevance: (T,) scores s_t >= 0; r_t is the
    share of joints within ``threshold`` metres of the real position. NaN when no frame is
    relevant.
    """
    relevance = np.asarray(relevance, dtype=np.float64)
    total = relevance.sum()
    if total <= 0:
        return float("nan")
    recalled = (np.linalg.norm(generated - real, axis=-1) < threshold).mean(axis=-1)
    return float((relevance * recalled).sum() / total)


def nearest_template_recall(
    features: np.ndarray, templates: np.ndarray, targets: np.ndarray
) -> float:
    """Share of samples whose nearest template (L2) is their target.

    features (N, D), templates (K, D), targets (N,) template indices.
    """
    distance = ((features[:, None, :] - templates[None]) ** 2).sum(axis=-1)  # (N, K)
    return float((distance.argmin(axis=1) == np.asarray(targets)).mean())
