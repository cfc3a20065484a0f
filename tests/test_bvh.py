"""BVH export: bvhio reads back the SMPL-X skeleton, offsets and rotations we wrote."""

from __future__ import annotations

from pathlib import Path

import bvhio
import glm
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from semges import layout
from semges.motion import MotionClip, load_motion
from semges.render.bvh import local_axis_angle, rest_joint_positions, write_bvh

DATA = Path(__file__).parent / "data"
TOLERANCE_RAD = 1e-4


@pytest.fixture(scope="module")
def motion() -> MotionClip:
    """BEAT2 frames plus frames with large and gimbal-locked rotations on every joint."""
    clip = load_motion(DATA / "2_scott_0_1_1.npz")
    rng = np.random.default_rng(0)
    extreme = rng.uniform(-np.pi, np.pi, (6, layout.NUM_JOINTS, 3))
    extreme[:2] = Rotation.from_euler(
        "ZYX", [[0.3, 90.0, -0.7], [1.2, -90.0, 0.4]], degrees=True
    ).as_rotvec()[:, None, :]  # y at +-90 deg
    extreme[:, :, :] = (
        Rotation.from_rotvec(extreme.reshape(-1, 3)).as_rotvec().reshape(extreme.shape)
    )
    poses = np.concatenate([clip.poses[:40], extreme.reshape(6, -1)]).astype(np.float32)
    trans = np.concatenate([clip.trans[:40], np.zeros((6, 3), np.float32)])
    return MotionClip(poses, trans, clip.betas)


def joints_by_name(root: bvhio.BvhJoint) -> dict[str, bvhio.BvhJoint]:
    return {joint.Name: joint for joint, _, _ in root.layout()}


def angle_between(quat: glm.quat, matrix: np.ndarray) -> float:
    read = Rotation.from_quat([quat.x, quat.y, quat.z, quat.w])
    return float((read.inv() * Rotation.from_matrix(matrix)).magnitude())


def test_bvhio_reads_back_the_same_rotations(motion, tmp_path):
    path = write_bvh(motion, tmp_path / "talk.bvh")
    bvh = bvhio.readAsBvh(str(path))
    assert bvh.FrameCount == motion.num_frames
    assert bvh.FrameTime == pytest.approx(1.0 / layout.FPS, rel=1e-6)
    joints = joints_by_name(bvh.Root)
    assert list(joints) == sorted(layout.JOINT_NAMES, key=list(joints).index)
    assert set(joints) == set(layout.JOINT_NAMES)
    expected = Rotation.from_rotvec(local_axis_angle(motion).reshape(-1, 3)).as_matrix()
    expected = expected.reshape(motion.num_frames, layout.NUM_JOINTS, 3, 3)
    worst = 0.0
    for index, name in enumerate(layout.JOINT_NAMES):
        for frame, key in enumerate(joints[name].Keyframes):
            worst = max(worst, angle_between(key.Rotation, expected[frame, index]))
    assert worst < TOLERANCE_RAD


def test_skeleton_offsets_and_root_positions(motion, tmp_path):
    rest = rest_joint_positions(motion.betas)
    joints = joints_by_name(bvhio.readAsBvh(str(write_bvh(motion, tmp_path / "a.bvh"))).Root)
    for index, name in enumerate(layout.JOINT_NAMES):
        parent = layout.PARENTS[index]
        children = [child.Name for child in joints[name].Children]
        assert children == [
            layout.JOINT_NAMES[j] for j, p in enumerate(layout.PARENTS) if p == index
        ]
        if parent >= 0:
            np.testing.assert_allclose(joints[name].Offset, rest[index] - rest[parent], atol=1e-6)
    pelvis = np.array([list(key.Position) for key in joints["pelvis"].Keyframes])
    np.testing.assert_allclose(pelvis, rest[0] + motion.trans, atol=1e-5)


def test_rest_skeleton_is_a_standing_smplx_body():
    rest = rest_joint_positions()
    name = layout.JOINT_NAMES.index
    assert (
        rest[name("head")][1]
        > rest[name("neck")][1]
        > rest[name("pelvis")][1]
        > rest[name("left_knee")][1]
        > rest[name("left_ankle")][1]
    )
    assert rest[name("left_wrist")][0] > 0.5 > -0.5 > rest[name("right_wrist")][0]  # T-pose
    left = [j for j in range(layout.NUM_JOINTS) if layout.JOINT_NAMES[j].startswith("left_")]
    mirrored = rest[list(layout.MIRROR_JOINT_PERMUTATION)] * (-1, 1, 1)
    np.testing.assert_allclose(mirrored[left], rest[left], atol=0.04)  # SMPL-X is ~3 cm asymmetric


def test_centimetres_and_atomic_write(motion, tmp_path):
    path = write_bvh(motion, tmp_path / "cm.bvh", scale=100.0)
    joints = joints_by_name(bvhio.readAsBvh(str(path)).Root)
    rest = rest_joint_positions(motion.betas)
    knee = layout.JOINT_NAMES.index("left_knee")
    np.testing.assert_allclose(joints["left_knee"].Offset, 100 * (rest[knee] - rest[1]), atol=1e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cm.bvh"]
