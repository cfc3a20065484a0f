"""Metrics and forward kinematics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from semges import layout, metrics
from semges.kinematics import forward_kinematics, rest_joint_positions


def test_frechet_distance_of_one_dimensional_samples() -> None:
    # real: mean 0, var 2 (ddof 1); generated: mean 2, var 8 -> 4 + 2 + 8 - 2 * sqrt(16) = 6
    real, generated = np.array([[-1.0], [1.0]]), np.array([[0.0], [4.0]])
    assert metrics.frechet_distance(real, generated) == pytest.approx(6.0)
    assert metrics.frechet_distance(real, real) == pytest.approx(0.0, abs=1e-9)


def test_beat_consistency_hand_computed() -> None:
    # distances 0 and 0.3 s: (exp(0) + exp(-0.09 / 0.18)) / 2
    value = metrics.beat_consistency(np.array([1.0, 2.0]), np.array([1.0, 2.3, 5.0]))
    assert value == pytest.approx((1 + math.exp(-0.5)) / 2)
    assert metrics.beat_consistency(np.array([1.0]), np.array([])) == 0.0


def test_motion_beats_are_speed_minima() -> None:
    # x = sin(2 pi t): speed is lowest at the turning points t = 0.25, 0.75, ... s
    fps = 30
    t = np.arange(60) / fps
    positions = np.stack([np.sin(2 * np.pi * t), 0 * t, 0 * t], axis=-1)[:, None]
    beats = metrics.motion_beats(positions, fps)
    np.testing.assert_allclose(beats, [0.25, 0.75, 1.25, 1.75], atol=1 / fps)


def test_l1_divergence_hand_computed() -> None:
    # one joint at x = 0 and x = 2: mean 1, every frame 1 m away in L1
    positions = np.array([[[0.0, 0.0, 0.0]], [[2.0, 0.0, 0.0]]])
    assert metrics.l1_divergence(positions) == pytest.approx(1.0)


def test_mean_jerk_of_a_cubic() -> None:
    fps = 30
    t = np.arange(10) / fps
    positions = np.stack([t**3, 0 * t, 0 * t], axis=-1)[:, None]
    assert metrics.mean_jerk(positions, fps) == pytest.approx(6.0, rel=1e-6)


def test_srgr_weights_frames_by_relevance() -> None:
    real = np.zeros((2, 2, 3))
    generated = real.copy()
    generated[1, 0, 0] = 1.0  # frame 1: one of two joints is 1 m off
    assert metrics.srgr(generated, real, np.array([1.0, 3.0])) == pytest.approx((1 + 3 * 0.5) / 4)
    assert math.isnan(metrics.srgr(generated, real, np.zeros(2)))


def test_nearest_template_recall() -> None:
    templates = np.array([[0.0, 0.0], [1.0, 0.0]])
    features = np.array([[0.1, 0.0], [0.9, 0.0], [0.2, 0.0]])
    assert metrics.nearest_template_recall(
        features, templates, np.array([0, 1, 1])
    ) == pytest.approx(2 / 3)


def test_rest_pose_gives_the_rest_skeleton() -> None:
    poses = torch.zeros(2, layout.POSE_DIM)
    positions = forward_kinematics(poses)
    assert positions.shape == (2, layout.NUM_JOINTS, 3)
    np.testing.assert_allclose(positions[0].numpy(), rest_joint_positions(), atol=1e-6)


def test_bending_an_elbow_moves_only_its_descendants() -> None:
    elbow = layout.JOINT_NAMES.index("left_elbow")
    wrist = layout.JOINT_NAMES.index("left_wrist")
    poses = torch.zeros(1, layout.POSE_DIM)
    poses[0, elbow * 3 + 1] = math.pi / 2  # 90 degrees about y
    moved = forward_kinematics(poses)[0].numpy()
    rest = rest_joint_positions()
    forearm = rest[wrist] - rest[elbow]
    # rotation about y by 90 degrees: (x, y, z) -> (z, y, -x)
    expected = rest[elbow] + np.array([forearm[2], forearm[1], -forearm[0]])
    np.testing.assert_allclose(moved[wrist], expected, atol=1e-5)
    np.testing.assert_allclose(moved[elbow], rest[elbow], atol=1e-6)
    right_wrist = layout.JOINT_NAMES.index("right_wrist")
    np.testing.assert_allclose(moved[right_wrist], rest[right_wrist], atol=1e-6)


def test_metrics_json_is_strict_with_missing_metrics_as_null():
    import json

    from training.evaluate import metrics_json

    text = metrics_json(
        {"generated": {"bc": 0.5, "srgr": float("nan")}, "clips": [{"x": float("nan")}]}
    )
    assert json.loads(text) == {"generated": {"bc": 0.5, "srgr": None}, "clips": [{"x": None}]}
