"""Where the body stands: the root translation, from planted feet.

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
    return PlantedTranslation(fps, recenter_time_s).extend(poses)


class PlantedTranslation:
    """:func:`planted_translation` of a motion that arrives in pieces: ``extend`` each piece's
    poses in order and get their translation, the same as of the whole motion at once (the
    live path). Its state is the last frame's foot positions and standing position."""

    def __init__(self, fps: float, recenter_time_s: float) -> None:
        self._keep = 1.0 - (1.0 / (recenter_time_s * fps) if recenter_time_s > 0 else 0.0)
        self._rest_height = rest_joint_positions()[list(layout.FEET), layout.VERTICAL_AXIS].min()
        self._last_positions: np.ndarray | None = None  # (1, 55, 3) the previous frame's joints
        self._horizontal = np.zeros(2, np.float64)

    def extend(self, poses: np.ndarray) -> np.ndarray:
        """(T, 165) the next frames' poses -> their (T, 3) translation."""
        num_frames = poses.shape[0]
        positions = joint_positions(poses)  # (T, 55, 3)
        heights = positions[:, list(layout.FEET), layout.VERTICAL_AXIS]  # (T, 2)
        # How far the stance foot moved relative to the pelvis since the previous frame (the
        # very first frame has no previous one: it stands at the origin).
        first_ever = self._last_positions is None
        history = positions if first_ever else np.concatenate([self._last_positions, positions])
        drift = stance_foot_steps(history)
        horizontal = np.zeros((num_frames, 2), np.float64)
        previous = self._horizontal
        for t in range(num_frames):
            if not (first_ever and t == 0):
                previous = (previous - drift[t - 1 if first_ever else t]) * self._keep
            horizontal[t] = previous
        if num_frames:
            self._horizontal = previous
            self._last_positions = positions[-1:]
        trans = np.zeros((num_frames, layout.TRANSLATION_DIM), np.float32)
        trans[:, list(layout.HORIZONTAL_AXES)] = horizontal
        trans[:, layout.VERTICAL_AXIS] = self._rest_height - heights.min(axis=1)
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
