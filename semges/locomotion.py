"""Where the body stands and when it rests: translation from planted feet, and the envelope
that lets the generated motion settle toward rest in long silences and at the end of a clip.

Translation is not generated: it follows from the generated legs. Each frame, the lower foot
carries the weight and stays where it is on the ground; the pelvis moves by whatever the legs
do relative to it (a weight shift, a step). The lowest foot is kept on the floor. Over minutes,
the small steps would add up to a walk out of the frame, so the position is pulled back toward
the origin with a time constant of many seconds, slow enough that the planted foot slides by
millimetres per second.
"""

from __future__ import annotations

import numpy as np

from semges import layout
from semges.kinematics import joint_positions, rest_joint_positions


def planted_translation(poses: np.ndarray, fps: float, recenter_time_s: float) -> np.ndarray:
    """(T, 165) axis-angle poses -> (T, 3) root translation (m) with the weight-bearing foot
    planted.

    The weight-bearing foot of a frame is the lower of the two (SMPL-X y-up). Its horizontal
    position in the world stays fixed from one frame to the next, apart from the pull back to
    the origin (a leak of ``1 / (recenter_time_s * fps)`` per frame; 0 disables it). The
    vertical translation puts the lowest foot at its rest height, so the rest pose with zero
    translation stands on the same floor.
    """
    num_frames = poses.shape[0]
    positions = joint_positions(poses)  # (T, 55, 3)
    heights = positions[:, list(layout.FEET), layout.VERTICAL_AXIS]  # (T, 2)
    # How far the stance foot moved relative to the pelvis since the previous frame.
    drift = np.zeros((num_frames, 2), np.float64)
    drift[1:] = stance_foot_steps(positions)
    keep = 1.0 - (1.0 / (recenter_time_s * fps) if recenter_time_s > 0 else 0.0)
    horizontal = np.zeros((num_frames, 2), np.float64)
    for t in range(1, num_frames):
        horizontal[t] = (horizontal[t - 1] - drift[t]) * keep
    rest_height = rest_joint_positions()[list(layout.FEET), layout.VERTICAL_AXIS].min()
    trans = np.zeros((num_frames, layout.TRANSLATION_DIM), np.float32)
    trans[:, list(layout.HORIZONTAL_AXES)] = horizontal
    trans[:, layout.VERTICAL_AXIS] = rest_height - heights.min(axis=1)
    return trans


def stance_foot_steps(positions: np.ndarray) -> np.ndarray:
    """(T, 55, 3) joint positions -> (T - 1, 2) ground-plane displacement of the weight-bearing
    foot from frame t - 1 to t, the weight-bearing foot being the lower of the two at frame t.

    On positions relative to the pelvis it is how far the legs moved the planted foot (what
    the translation must undo); on world positions it is how far that foot slid.
    """
    feet = positions[:, list(layout.FEET)]  # (T, 2, 3)
    stance = feet[1:, :, layout.VERTICAL_AXIS].argmin(axis=1)  # (T - 1,) index into FEET
    ground = feet[..., list(layout.HORIZONTAL_AXES)]  # (T, 2, 2)
    frames = np.arange(1, feet.shape[0])
    return ground[frames, stance] - ground[frames - 1, stance]


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


def activity_envelope(word_mask: np.ndarray, fps: float, hold_after_words_s: float,
                      settle_s: float) -> np.ndarray:
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
