"""One skeleton: the metrics' kinematics, the BVH and glTF files and both bodies put every SMPL-X
joint in the same place, at rest and in posed frames of a real BEAT2 clip, with the hands drawn
the same way (``semges.skeleton``)."""

from __future__ import annotations

from pathlib import Path

import bvhio
import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from test_gltf import GlbFile
from test_render_bodies import forward_kinematics, write_fake_smplx

from semges import layout, skeleton
from semges.kinematics import joint_positions
from semges.motion import MotionClip, load_motion
from semges.render.bodies.mannequin_body import MannequinBody, smplx_joint_of
from semges.render.bodies.smplx_body import SmplxBody
from semges.render.bvh import write_bvh
from semges.render.gltf import write_glb

DATA = Path(__file__).parent / "data"
POSED_FRAMES = (0, 300, 1000, 1800)
TOLERANCE_M = 1e-5


@pytest.fixture(scope="module")
def beat2() -> MotionClip:
    return load_motion(DATA / "2_scott_0_1_1.npz")


def frames(beat2: MotionClip, betas: np.ndarray) -> MotionClip:
    """The rest pose, then POSED_FRAMES of the clip, no translation, the given betas."""
    poses = np.concatenate(
        [np.zeros((1, layout.POSE_DIM), np.float32), beat2.poses[list(POSED_FRAMES)]]
    )
    return MotionClip(poses, np.zeros((len(poses), 3), np.float32), betas)


@pytest.fixture(scope="module")
def neutral(beat2) -> MotionClip:
    return frames(beat2, np.zeros(layout.NUM_BETAS, np.float32))


@pytest.fixture(scope="module")
def shaped(beat2) -> MotionClip:
    return frames(beat2, beat2.betas)


@pytest.fixture(scope="module")
def mannequin() -> MannequinBody:
    return MannequinBody()


@pytest.fixture(scope="module")
def fake_smplx(tmp_path_factory) -> SmplxBody:
    return SmplxBody(write_fake_smplx(tmp_path_factory.mktemp("smplx") / "SMPLX_NEUTRAL_2020.npz"))


def expected_joints(clip: MotionClip, rest: np.ndarray | None = None) -> np.ndarray:
    """(T, 55, 3) independent (scipy) forward kinematics of the drawn pose on ``rest``
    (default: the skeleton at the clip's betas)."""
    rest = skeleton.rest_joint_positions(clip.betas) if rest is None else rest
    local = skeleton.with_relaxed_hands(clip.poses.astype(np.float64))
    return forward_kinematics(
        rest, local.reshape(clip.num_frames, layout.NUM_JOINTS, 3), clip.trans.astype(np.float64)
    )


def bvh_joints(path: Path) -> np.ndarray:
    """(T, 55, 3) world joint positions of a BVH file read by bvhio: its offsets and its
    per-frame root position and rotations, composed here."""
    bvh = bvhio.readAsBvh(str(path))
    world = np.zeros((bvh.FrameCount, layout.NUM_JOINTS, 3))

    def visit(
        frame: int, joint: bvhio.BvhJoint, rotation: np.ndarray, position: np.ndarray
    ) -> None:
        key = joint.Keyframes[frame]
        local = Rotation.from_quat(
            [key.Rotation.x, key.Rotation.y, key.Rotation.z, key.Rotation.w]
        ).as_matrix()
        world[frame, layout.JOINT_NAMES.index(joint.Name)] = position
        for child in joint.Children:
            offset = np.array([child.Offset.x, child.Offset.y, child.Offset.z])
            visit(frame, child, rotation @ local, position + rotation @ local @ offset)

    for frame in range(bvh.FrameCount):
        root = bvh.Root.Keyframes[frame].Position
        visit(frame, bvh.Root, np.eye(3), np.array([root.x, root.y, root.z]))
    return world


def glb_rest_joints(glb: GlbFile) -> np.ndarray:
    """(55, 3) rest joint positions of a .glb: its skin's joint nodes' translations composed."""
    nodes = glb.gltf.nodes
    parent = {child: index for index, node in enumerate(nodes) for child in node.children or []}

    def position(index: int) -> np.ndarray:
        own = np.asarray(nodes[index].translation or [0.0, 0.0, 0.0])
        return own + position(parent[index]) if index in parent else own

    return np.stack([position(node) for node in glb.gltf.skins[0].joints])


def own_rest_joints(body: SmplxBody, betas: np.ndarray) -> np.ndarray:
    """(55, 3) an SMPL-X file's own skeleton: its J_regressor on its template shaped by betas."""
    with np.load(body.model_path) as model:
        shape = np.zeros(layout.NUM_BETAS)
        shape[: min(layout.NUM_BETAS, len(betas))] = betas[: layout.NUM_BETAS]
        vertices = model["v_template"] + model["shapedirs"][:, :, : layout.NUM_BETAS] @ shape
        return model["J_regressor"].astype(np.float64) @ vertices


def test_the_relaxed_hand_is_the_mannequin_figures():
    """The hand mean read from the calibration is the figure's own rest-pose finger curl."""
    from mannequin import Mannequin

    model = Mannequin("wooden", flat_hand_mean=False)
    world = np.asarray(model.joint_transforms(model.rest_pose()))[:, :3, :3]
    index = smplx_joint_of(model.joint_names, model.parents)
    for figure_joint, joint in enumerate(index):
        if joint in layout.HANDS.joints:
            local = world[model.parents[figure_joint]].T @ world[figure_joint]
            mean = skeleton.relaxed_hand_mean()[layout.HANDS.joints.index(joint)]
            assert (
                Rotation.from_matrix(local).inv() * Rotation.from_rotvec(mean)
            ).magnitude() < 1e-6


def test_rest_skeleton_places_jaw_and_eyes_on_the_head():
    rest = skeleton.rest_joint_positions()
    assert rest.shape == (layout.NUM_JOINTS, 3) and np.isfinite(rest).all()
    head = rest[layout.JOINT_NAMES.index("head")]
    left_eye, right_eye = layout.EYES.joints
    np.testing.assert_allclose((rest[left_eye] - head) * (-1, 1, 1), rest[right_eye] - head)
    assert rest[left_eye, 1] > rest[layout.JAW.joints[0], 1]


def test_kinematics_draws_the_skeleton_the_renderer_draws(neutral):
    np.testing.assert_allclose(
        joint_positions(neutral.poses), expected_joints(neutral), atol=TOLERANCE_M
    )


@pytest.mark.parametrize("name", ["neutral", "shaped"])
def test_bvh_file_holds_the_same_skeleton(name, request, tmp_path):
    clip = request.getfixturevalue(name)
    read = bvh_joints(write_bvh(clip, tmp_path / "talk.bvh"))
    np.testing.assert_allclose(read, expected_joints(clip), atol=TOLERANCE_M)


@pytest.mark.parametrize("name", ["neutral", "shaped"])
def test_mannequin_poses_the_same_skeleton(name, request, mannequin):
    clip = request.getfixturevalue(name)
    posed = mannequin.joint_positions(clip, 0, clip.num_frames)
    np.testing.assert_allclose(posed, expected_joints(clip), atol=TOLERANCE_M)


def test_mannequin_glb_rests_on_the_same_skeleton(shaped, mannequin, tmp_path):
    glb = GlbFile(write_glb(shaped, tmp_path / "mannequin.glb", body=mannequin))
    np.testing.assert_allclose(
        glb_rest_joints(glb), skeleton.rest_joint_positions(shaped.betas), atol=TOLERANCE_M
    )


def test_smplx_body_with_the_neutral_file_poses_the_same_skeleton(neutral, fake_smplx):
    """The generated file's regressor reproduces the neutral skeleton: smplx's kinematics of
    it, with smplx's own hand mean, must agree with ours."""
    posed = fake_smplx.joint_positions(neutral, 0, neutral.num_frames)
    np.testing.assert_allclose(posed, expected_joints(neutral), atol=TOLERANCE_M)


def test_smplx_body_and_glb_follow_the_files_own_skeleton(shaped, fake_smplx, tmp_path):
    """At other betas an SMPL-X file has its own skeleton (its regressor on its shaped mesh):
    the body and the glTF export follow it, with the project's hand convention."""
    rest = own_rest_joints(fake_smplx, shaped.betas)
    posed = fake_smplx.joint_positions(shaped, 0, shaped.num_frames)
    np.testing.assert_allclose(posed, expected_joints(shaped, rest), atol=TOLERANCE_M)
    glb = GlbFile(write_glb(shaped, tmp_path / "smplx.glb", body=fake_smplx))
    np.testing.assert_allclose(glb_rest_joints(glb), rest, atol=TOLERANCE_M)
