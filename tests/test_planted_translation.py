"""Planted feet: the root translation follows the weight-bearing foot."""

from __future__ import annotations

import numpy as np
import torch

from semges import layout
from semges.kinematics import forward_kinematics, rest_joint_positions
from semges.planted_translation import planted_translation

FPS = layout.FPS


def _swaying_legs(num_frames: int) -> np.ndarray:
    """Poses whose hips swing in turn (like shifting weight and stepping on the spot) while
    the pelvis turns a little."""
    t = np.arange(num_frames) / FPS
    poses = np.zeros((num_frames, layout.POSE_DIM), np.float32)
    left_hip, right_hip = (layout.JOINT_NAMES.index(n) * 3 for n in ("left_hip", "right_hip"))
    poses[:, left_hip] = 0.25 * np.clip(np.sin(2 * np.pi * 0.5 * t), 0, None)  # flexion x
    poses[:, right_hip] = 0.25 * np.clip(-np.sin(2 * np.pi * 0.5 * t), 0, None)
    poses[:, 1] = 0.1 * np.sin(2 * np.pi * 0.2 * t)  # root yaw
    return poses


def _world_feet(poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
    positions = forward_kinematics(torch.from_numpy(poses)).numpy() + trans[:, None]
    return positions[:, list(layout.FEET)]  # (T, 2, 3)


def test_weight_bearing_foot_stays_planted_and_on_the_floor() -> None:
    poses = _swaying_legs(240)
    trans = planted_translation(poses, FPS, recenter_time_s=0.0)
    feet = _world_feet(poses, trans)
    heights = feet[..., layout.VERTICAL_AXIS]
    stance = heights.argmin(axis=1)
    ground = feet[np.arange(len(poses)), stance][:, list(layout.HORIZONTAL_AXES)]
    same_stance = stance[1:] == stance[:-1]
    speed = np.linalg.norm(np.diff(ground, axis=0), axis=1)[same_stance] * FPS
    assert speed.max() < 1e-4  # m/s: the planted foot does not slide
    rest_height = rest_joint_positions()[list(layout.FEET), layout.VERTICAL_AXIS].min()
    np.testing.assert_allclose(heights.min(axis=1), rest_height, atol=1e-5)
    assert np.ptp(trans[:, 0]) > 0.01 or np.ptp(trans[:, 2]) > 0.01  # the body did move


def test_rest_pose_stands_still_at_the_origin() -> None:
    trans = planted_translation(np.zeros((30, layout.POSE_DIM), np.float32), FPS, 20.0)
    np.testing.assert_allclose(trans, 0.0, atol=1e-6)


def test_recentering_bounds_the_drift_of_a_long_clip() -> None:
    poses = _swaying_legs(FPS * 120)
    free = planted_translation(poses, FPS, recenter_time_s=0.0)
    pulled = planted_translation(poses, FPS, recenter_time_s=10.0)
    horizontal = list(layout.HORIZONTAL_AXES)
    assert np.abs(pulled[:, horizontal]).max() < np.abs(free[:, horizontal]).max()
    assert np.abs(pulled[:, horizontal]).max() < 0.5
