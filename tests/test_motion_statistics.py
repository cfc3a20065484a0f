"""Motion-quality statistics against hand-computed values on tiny clips."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from semges import layout
from semges import motion_statistics as stats
from semges.kinematics import rest_joint_positions

FPS = 30
LEFT_WRIST, RIGHT_WRIST = stats.WRISTS
LEFT_FOOT, RIGHT_FOOT = layout.FEET


def still(num_frames: int) -> np.ndarray:
    """(T, 55, 3) positions with every joint at the origin."""
    return np.zeros((num_frames, layout.NUM_JOINTS, 3))


def rotated_about_x(angles_rad: np.ndarray, joints: tuple[int, ...]) -> np.ndarray:
    """(T, 165) poses: ``joints`` rotated about x by angles (T,), everything else at rest."""
    poses = np.zeros((angles_rad.size, layout.POSE_DIM))
    for joint in joints:
        poses[:, joint * layout.AXIS_ANGLE_DIM] = angles_rad
    return poses


def test_wrist_position_std_of_a_sine() -> None:
    # Both wrists swing on x with amplitude 0.3 m over whole periods: std 0.3 / sqrt(2) on x,
    # 0 on y and z, so the mean over 3 axes is 0.3 / sqrt(2) / 3.
    t = np.arange(60) / FPS
    positions = still(60)
    positions[:, list(stats.WRISTS), 0] = 0.3 * np.sin(2 * np.pi * t)[:, None]
    assert stats.wrist_position_std(positions) == pytest.approx(0.3 / math.sqrt(2) / 3)
    assert stats.wrist_position_std(still(5)) == 0.0


def test_wrist_heights_are_above_the_pelvis_joint() -> None:
    # Pelvis at y = 0.5; wrist heights 0.5 .. 1.5 m in 101 steps, both wrists the same: the
    # 95th percentile of heights above the pelvis is 0.95 m.
    positions = still(101)
    positions[:, stats.PELVIS, 1] = 0.5
    positions[:, list(stats.WRISTS), 1] = (0.5 + np.linspace(0.0, 1.0, 101))[:, None]
    assert stats.wrist_height_percentile(positions) == pytest.approx(0.95)
    assert stats.wrist_height_percentile(positions, 50.0) == pytest.approx(0.5)


def test_left_right_height_correlation() -> None:
    height = np.sin(np.linspace(0, 6, 50))
    positions = still(50)
    positions[:, LEFT_WRIST, 1] = height
    positions[:, RIGHT_WRIST, 1] = 2 * height + 1  # same shape, other scale: still 1
    assert stats.left_right_height_correlation(positions) == pytest.approx(1.0)
    positions[:, RIGHT_WRIST, 1] = -height
    assert stats.left_right_height_correlation(positions) == pytest.approx(-1.0)
    positions[:, RIGHT_WRIST, 1] = 0.0
    assert math.isnan(stats.left_right_height_correlation(positions))


def test_pose_spread_of_a_joint_swinging_both_ways() -> None:
    # Spine1 alternates between +10 and -10 degrees about x: mean pose at rest, every frame
    # 10 degrees away from it. A constant pose does not spread at all.
    angles = np.radians(np.tile([10.0, -10.0], 20))
    poses = rotated_about_x(angles, stats.SPINE_NECK_HEAD[:1])
    assert stats.pose_spread_degrees(poses, stats.SPINE_NECK_HEAD[:1]) == pytest.approx(10.0)
    # Over all five spine/neck/head joints, four of which stay at rest: 10 / 5.
    assert stats.pose_spread_degrees(poses, stats.SPINE_NECK_HEAD) == pytest.approx(2.0)
    constant = rotated_about_x(np.full(5, 0.7), layout.HANDS.joints)
    assert stats.pose_spread_degrees(constant, layout.HANDS.joints) == pytest.approx(0.0, abs=1e-6)


def test_rotation_error_degrees() -> None:
    joints = layout.LOWER_BODY.joints
    turned = rotated_about_x(np.full(4, math.radians(30.0)), joints)
    rest = np.zeros_like(turned)
    assert stats.rotation_error_degrees(turned, rest, joints) == pytest.approx(30.0)
    assert stats.rotation_error_degrees(turned, turned, joints) == pytest.approx(0.0, abs=1e-6)


def test_translation_std_is_horizontal() -> None:
    trans = np.zeros((10, 3))
    trans[:, 0] = np.tile([0.1, -0.1], 5)  # std 0.1 on x
    trans[:, 1] = np.arange(10)  # vertical: ignored
    assert stats.translation_std(trans) == pytest.approx(0.05)


def test_arm_hand_jerk_of_one_cubic_joint() -> None:
    # x = t^3 has jerk 6 m/s^3; one of the 36 arm and hand joints moves.
    t = np.arange(10) / FPS
    positions = still(10)
    positions[:, RIGHT_WRIST, 0] = t**3
    assert stats.arm_hand_jerk(positions, FPS) == pytest.approx(6.0 / len(stats.ARMS_AND_HANDS))


def test_pause_frames_need_a_second_without_words() -> None:
    # 0.5 s silence at the start (too short), 1 s silence in the middle, 1.5 s at the end.
    mask = np.concatenate([np.zeros(15), np.ones(10), np.zeros(30), np.ones(5), np.zeros(45)])
    pauses = stats.pause_frames(mask.astype(bool), FPS)
    expected = np.concatenate([np.zeros(25), np.ones(30), np.zeros(5), np.ones(45)]).astype(bool)
    np.testing.assert_array_equal(pauses, expected)
    assert not stats.pause_frames(np.ones(40, bool), FPS).any()


def test_speed_ratio() -> None:
    speed = np.array([1.0, 1.0, 4.0, 4.0])
    slow, fast = np.array([1, 1, 0, 0], bool), np.array([0, 0, 1, 1], bool)
    assert stats.speed_ratio(speed, slow, fast) == pytest.approx(0.25)
    assert math.isnan(stats.speed_ratio(speed, np.zeros(4, bool), fast))


def test_wrist_speed_of_a_steady_slide() -> None:
    positions = still(6)
    positions[:, list(stats.WRISTS), 2] = (0.01 * np.arange(6))[:, None]  # 1 cm per frame
    np.testing.assert_allclose(stats.wrist_speed(positions, FPS), 0.3)


def test_planted_foot_does_not_move() -> None:
    # The left foot is planted (lower); the right one swings in the air: speed 0.
    positions = still(8)
    positions[:, RIGHT_FOOT, 1] = 0.2
    positions[:, RIGHT_FOOT, 0] = np.arange(8) * 0.1
    np.testing.assert_allclose(stats.stance_foot_speed(positions, FPS), 0.0)
    assert stats.weight_bearing_foot_speed(positions, FPS) == 0.0


def test_sliding_foot_speed() -> None:
    # The planted (lower) right foot slides 3 cm per frame along z: 0.03 * 30 = 0.9 m/s.
    positions = still(8)
    positions[:, LEFT_FOOT, 1] = 0.1
    positions[:, RIGHT_FOOT, 2] = np.arange(8) * 0.03
    np.testing.assert_allclose(stats.stance_foot_speed(positions, FPS), 0.9)
    assert stats.weight_bearing_foot_speed(positions, FPS) == pytest.approx(0.9)


def test_weight_moves_to_the_lower_foot() -> None:
    # Frames 0-3: the left foot is lower and planted; from frame 4 the right foot is lower,
    # and it slides 4 cm per frame on x (1.2 m/s) while the left one is lifted.
    positions = still(8)
    positions[4:, LEFT_FOOT, 1] = 0.1
    positions[:4, RIGHT_FOOT, 1] = 0.1
    positions[:, RIGHT_FOOT, 0] = np.arange(8) * 0.04
    np.testing.assert_allclose(
        stats.stance_foot_speed(positions, FPS), [0.0, 0.0, 0.0, 1.2, 1.2, 1.2, 1.2], atol=1e-9
    )
    assert stats.weight_bearing_foot_speed(positions, FPS) == pytest.approx(1.2)


def test_world_positions_add_the_translation() -> None:
    poses = np.zeros((2, layout.POSE_DIM), np.float32)
    trans = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]], np.float32)
    world = stats.world_joint_positions(poses, trans)
    drawn = stats.joint_positions(poses[:1])[0]  # zero poses: the rest skeleton, relaxed hands
    body = [joint for joint in range(layout.NUM_JOINTS) if joint not in layout.HANDS.joints]
    np.testing.assert_allclose(drawn[body], rest_joint_positions()[body], atol=1e-6)
    np.testing.assert_allclose(world[0], drawn, atol=1e-6)
    np.testing.assert_allclose(world[1], drawn + trans[1], atol=1e-6)


def test_upper_body_rows_keep_only_upper_body_and_hands() -> None:
    poses = np.full((3, layout.POSE_DIM), 0.1, np.float32)
    rows = stats.upper_body_rows(poses)
    moving = set(layout.UPPER_BODY.pose_columns) | set(layout.HANDS.pose_columns)
    for column in range(layout.POSE_DIM):
        assert np.all(rows[:, column] == (0.1 if column in moving else 0.0)), column
    assert np.all(poses == 0.1)  # the input is not changed


def test_mean_position_error() -> None:
    reference = still(4)
    positions = reference.copy()
    positions[:, LEFT_WRIST] = [0.3, 0.4, 0.0]  # 0.5 m off
    assert stats.mean_position_error(positions, reference, stats.WRISTS) == pytest.approx(0.25)
    assert stats.mean_position_error(positions, reference) == pytest.approx(0.5 / layout.NUM_JOINTS)


def test_long_clip_drift_and_tilt_by_hand() -> None:
    trans = np.zeros((4, 3), np.float32)
    trans[:, 0] = [0.0, 0.3, 0.0, 0.0]
    trans[:, 2] = [0.0, 0.4, 0.1, 0.0]
    assert stats.max_horizontal_distance(trans) == pytest.approx(0.5)
    poses = np.zeros((3, layout.POSE_DIM), np.float32)
    poses[1, 0] = np.radians(20.0)  # pitch the whole body forward by 20 degrees
    poses[2, 1] = np.radians(45.0)  # a turn about the vertical axis is not a lean
    lean = stats.trunk_lean_degrees(stats.joint_positions(poses))
    assert lean[2] == pytest.approx(lean[0], abs=1e-3)
    rest = rest_joint_positions()
    trunk = rest[layout.JOINT_NAMES.index("neck")] - rest[0]  # the rest trunk leans a little
    pitched = Rotation.from_rotvec([np.radians(20.0), 0.0, 0.0]).apply(trunk)
    for vector, expected in ((trunk, lean[0]), (pitched, lean[1])):
        angle = np.degrees(np.arccos(vector[1] / np.linalg.norm(vector)))
        assert expected == pytest.approx(angle, abs=1e-3)
