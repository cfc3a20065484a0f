"""Body models: the mannequin's fast skinning and pose mapping against independent
implementations, and the SMPL-X path on a generated model file with SMPLX_NEUTRAL_2020.npz's
keys and shapes (the real file is licensed and not available to tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from semges import layout
from semges.motion import MotionClip, load_motion
from semges.render.bodies import SmplxModelError, load_body, validate_smplx_model_file
from semges.render.bodies.mannequin_body import (
    MannequinBody,
    mannequin_pose_parameters,
    relaxed_hand_mean,
    smplx_joint_of,
)
from semges.render.bodies.normals import VertexNormals
from semges.render.bodies.smplx_body import NUM_FACES, NUM_VERTICES, SMPLX_MODEL_ENV, SmplxBody
from semges.render.bvh import local_axis_angle, rest_joint_positions

DATA = Path(__file__).parent / "data"
NUM_FRAMES = 8


@pytest.fixture(scope="module")
def clip() -> MotionClip:
    beat2 = load_motion(DATA / "2_scott_0_1_1.npz")
    rng = np.random.default_rng(1)
    poses = beat2.poses[500 : 500 + NUM_FRAMES] + rng.normal(0, 0.3, (NUM_FRAMES, 165))
    return MotionClip(
        poses,
        beat2.trans[500 : 500 + NUM_FRAMES],
        beat2.betas,
        beat2.expressions[500 : 500 + NUM_FRAMES],
    )


@pytest.fixture(scope="module")
def mannequin() -> MannequinBody:
    return MannequinBody()


def forward_kinematics(rest: np.ndarray, axis_angle: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Independent SMPL-X forward kinematics: (55, 3) rest joints, (T, 55, 3) local rotations,
    (T, 3) translation -> (T, 55, 3) world joint positions."""
    local = (
        Rotation.from_rotvec(axis_angle.reshape(-1, 3))
        .as_matrix()
        .reshape(*axis_angle.shape[:2], 3, 3)
    )
    world_rot = np.zeros_like(local)
    world_pos = np.zeros(axis_angle.shape)
    for joint, parent in enumerate(layout.PARENTS):
        if parent < 0:
            world_rot[:, joint] = local[:, joint]
            world_pos[:, joint] = rest[joint] + trans
            continue
        world_rot[:, joint] = world_rot[:, parent] @ local[:, joint]
        world_pos[:, joint] = world_pos[:, parent] + np.einsum(
            "tij,j->ti", world_rot[:, parent], rest[joint] - rest[parent]
        )
    return world_pos


# -- mannequin ------------------------------------------------------------------------------
def test_sparse_skinning_equals_the_mannequin_package(mannequin, clip):
    chunk = mannequin.pose(clip, 0, NUM_FRAMES)
    reference = mannequin.model.vertices(mannequin_pose_parameters(clip, 0, NUM_FRAMES))
    assert chunk.vertices.shape == (NUM_FRAMES, mannequin.num_vertices, 3)
    np.testing.assert_allclose(chunk.vertices, reference, atol=1e-5)


def test_pose_mapping_matches_independent_forward_kinematics(mannequin, clip):
    """Root about the pelvis, body 1-21, hands with the relaxed mean, translation: the joints
    of the posed figure sit where plain SMPL-X kinematics puts them."""
    expected = forward_kinematics(
        rest_joint_positions(clip.betas), local_axis_angle(clip), clip.trans.astype(np.float64)
    )
    model = mannequin.model
    joints = mannequin.joint_transforms(clip, 0, NUM_FRAMES)[:, :, :3, 3]
    smplx_index = smplx_joint_of(model.joint_names, model.parents)
    named = [i for i, name in enumerate(model.joint_names) if not name.endswith("_Hand")]
    np.testing.assert_allclose(joints[:, named], expected[:, smplx_index[named]], atol=1e-4)


def test_skinned_normals_agree_with_face_normals(mannequin, clip):
    chunk = mannequin.pose(clip, 0, 2)
    from_faces = VertexNormals(mannequin.faces, mannequin.num_vertices)(chunk.vertices)
    cosine = np.clip((chunk.normals * from_faces).sum(-1), -1.0, 1.0)
    angle = np.degrees(np.arccos(cosine))
    assert np.median(angle) < 1.0 and np.percentile(angle, 95) < 15.0
    np.testing.assert_allclose(np.linalg.norm(chunk.normals, axis=-1), 1.0, atol=1e-5)


def test_vertex_normals_of_a_sphere_point_outwards():
    sphere = trimesh.creation.icosphere(subdivisions=3)
    normals = VertexNormals(sphere.faces, len(sphere.vertices))(sphere.vertices[None] * 2.0)
    radial = sphere.vertices / np.linalg.norm(sphere.vertices, axis=1, keepdims=True)
    assert normals.shape == (1, len(sphere.vertices), 3)
    np.testing.assert_allclose(normals[0], radial, atol=2e-2)


@pytest.mark.parametrize("upper_body_only", [True, False])
def test_framing_subset_has_the_same_bounds(mannequin, clip, upper_body_only):
    subset = mannequin.framing_vertices(upper_body_only)
    everything = (
        np.flatnonzero(mannequin.upper_body_mask())
        if upper_body_only
        else np.arange(mannequin.num_vertices)
    )
    assert subset.size < everything.size and np.isin(subset, everything).all()
    rotation = Rotation.random(random_state=2).as_matrix().astype(np.float32)
    full = mannequin.pose(clip, 0, NUM_FRAMES).vertices[:, everything] @ rotation
    fast = mannequin.positions(clip, 0, NUM_FRAMES, subset) @ rotation
    np.testing.assert_allclose(fast.min(axis=(0, 1)), full.min(axis=(0, 1)), atol=1e-6)
    np.testing.assert_allclose(fast.max(axis=(0, 1)), full.max(axis=(0, 1)), atol=1e-6)


def test_relaxed_hand_mean_is_curled_and_symmetric():
    mean = relaxed_hand_mean()
    assert mean.shape == (layout.HANDS.num_joints, 3) and np.abs(mean).max() > 0.3
    half = layout.LEFT_HAND.num_joints
    np.testing.assert_allclose(mean[half:], mean[:half] * (1, -1, -1), atol=1e-6)


# -- SMPL-X ---------------------------------------------------------------------------------
SPHERE_RINGS, SPHERE_SEGMENTS = 10, 19  # 190 vertices and 342 faces per joint


def _sphere(center: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    lat = np.linspace(-0.45 * np.pi, 0.45 * np.pi, SPHERE_RINGS)  # symmetric: mean = centre
    lon = np.linspace(0.0, 2 * np.pi, SPHERE_SEGMENTS, endpoint=False)
    points = np.stack(
        [
            np.cos(lat)[:, None] * np.cos(lon),
            np.repeat(np.sin(lat)[:, None], SPHERE_SEGMENTS, 1),
            np.cos(lat)[:, None] * np.sin(lon),
        ],
        -1,
    )
    faces = []
    for r in range(SPHERE_RINGS - 1):
        for s in range(SPHERE_SEGMENTS):
            a, b = r * SPHERE_SEGMENTS + s, r * SPHERE_SEGMENTS + (s + 1) % SPHERE_SEGMENTS
            faces += [(a, b + SPHERE_SEGMENTS, b), (a, a + SPHERE_SEGMENTS, b + SPHERE_SEGMENTS)]
    return center + radius * points.reshape(-1, 3), np.asarray(faces)


def write_fake_smplx(path: Path, num_shape_components: int = 400) -> Path:
    """An .npz with SMPLX_NEUTRAL_2020.npz's arrays and shapes: a ball on every joint.

    Joints sit at the real neutral rest positions (mannequin calibration); every ball is
    skinned rigidly to its joint; shape directions are small random offsets, expression
    directions swell the head ball; pose correctives are zero.
    """
    rng = np.random.default_rng(0)
    joints = rest_joint_positions()
    radius = np.full(layout.NUM_JOINTS, 0.035)
    radius[[0, 3, 6, 9, 15]] = 0.09
    radius[list(layout.HANDS.joints)] = 0.012
    vertices, faces, owner = [], [], []
    for joint in range(layout.NUM_JOINTS):
        ball, ball_faces = _sphere(joints[joint], radius[joint])
        faces.append(ball_faces + sum(len(v) for v in vertices))
        vertices.append(ball)
        owner += [joint] * len(ball)
    spare = NUM_VERTICES - sum(len(v) for v in vertices)
    vertices.append(np.repeat(joints[:1], spare, axis=0))
    owner += [0] * spare
    v_template = np.concatenate(vertices)
    faces = np.concatenate(faces)
    faces = np.concatenate([faces, np.repeat(faces[:1], NUM_FACES - len(faces), axis=0)])
    owner = np.asarray(owner)
    weights = np.eye(layout.NUM_JOINTS)[owner]
    regressor = (weights / weights.sum(axis=0)).T
    regressor[:, len(v_template) - spare :] = 0.0  # spare vertices do not move the pelvis
    regressor /= regressor.sum(axis=1, keepdims=True)
    shapedirs = rng.normal(0, 1e-4, (NUM_VERTICES, 3, num_shape_components))
    head = owner == layout.JOINT_NAMES.index("head")  # expressions swell the head ball
    swell = rng.uniform(0.0, 0.02, num_shape_components - layout.NUM_BETAS)
    shapedirs[head, :, layout.NUM_BETAS :] = (v_template[head] - joints[owner[head]])[
        ..., None
    ] * swell
    hand_mean = relaxed_hand_mean().reshape(2, -1)
    parents = np.array(layout.PARENTS, np.int64)
    parents[0] = 4294967295  # as stored in the SMPL-X files (uint32 -1)
    np.savez(
        path,
        v_template=v_template,
        f=faces.astype(np.int32),
        shapedirs=shapedirs.astype(np.float32),
        posedirs=np.zeros((NUM_VERTICES, 3, (layout.NUM_JOINTS - 1) * 9), np.float32),
        J_regressor=regressor.astype(np.float32),
        weights=weights.astype(np.float32),
        kintree_table=np.stack([parents, np.arange(layout.NUM_JOINTS)]),
        hands_meanl=hand_mean[0],
        hands_meanr=hand_mean[1],
        hands_componentsl=np.eye(45),
        hands_componentsr=np.eye(45),
        lmk_faces_idx=np.zeros(51, np.int64),
        lmk_bary_coords=np.full((51, 3), 1 / 3),
        dynamic_lmk_faces_idx=np.zeros((79, 17), np.int64),
        dynamic_lmk_bary_coords=np.full((79, 17, 3), 1 / 3),
    )
    return path


@pytest.fixture(scope="module")
def fake_model(tmp_path_factory) -> Path:
    return write_fake_smplx(tmp_path_factory.mktemp("smplx") / "SMPLX_NEUTRAL_2020.npz")


@pytest.fixture(scope="module")
def smplx_body(fake_model) -> SmplxBody:
    return SmplxBody(fake_model)


def test_smplx_body_poses_the_full_mesh(smplx_body, clip):
    chunk = smplx_body.pose(clip, 0, NUM_FRAMES)
    assert chunk.vertices.shape == chunk.normals.shape == (NUM_FRAMES, NUM_VERTICES, 3)
    assert smplx_body.faces.shape == (NUM_FACES, 3)
    assert np.isfinite(chunk.vertices).all()


def test_smplx_and_mannequin_agree_on_the_skeleton(smplx_body, mannequin, clip):
    """Each rigid ball's centre is its joint: smplx's kinematics and the mannequin's (with our
    parameter mappings) must put every joint in the same place."""
    neutral = MotionClip(clip.poses, clip.trans, np.zeros(layout.NUM_BETAS, np.float32))
    vertices = smplx_body.pose(neutral, 0, NUM_FRAMES).vertices
    per_ball = SPHERE_RINGS * SPHERE_SEGMENTS
    centres = (
        vertices[:, : layout.NUM_JOINTS * per_ball]
        .reshape(NUM_FRAMES, layout.NUM_JOINTS, per_ball, 3)
        .mean(axis=2)
    )
    model = mannequin.model
    joints = mannequin.joint_transforms(neutral, 0, NUM_FRAMES)[:, :, :3, 3]
    smplx_index = smplx_joint_of(model.joint_names, model.parents)
    named = [i for i, name in enumerate(model.joint_names) if not name.endswith("_Hand")]
    np.testing.assert_allclose(centres[:, smplx_index[named]], joints[:, named], atol=1e-4)


def test_smplx_applies_jaw_and_expressions(smplx_body, clip):
    base = smplx_body.pose(clip, 0, 1).vertices[0]
    poses = clip.poses[:1].copy()
    poses[0, list(layout.JAW.pose_columns)] = (0.4, 0.0, 0.0)
    jaw = smplx_body.pose(
        MotionClip(poses, clip.trans[:1], clip.betas, clip.expressions[:1]), 0, 1
    ).vertices[0]
    moved = np.linalg.norm(jaw - base, axis=1) > 1e-4
    assert set(np.unique(smplx_body.dominant_joint[moved])) == {layout.JAW.joints[0]}
    smile = MotionClip(clip.poses[:1], clip.trans[:1], clip.betas, clip.expressions[:1] + 1.0)
    face = smplx_body.pose(smile, 0, 1).vertices[0]
    assert np.linalg.norm(face - base, axis=1).max() > 1e-3


def test_smplx_video_renders(fake_model, clip, tmp_path):
    import av

    from semges.render import VideoRenderer

    with VideoRenderer(fake_model, size=(128, 96)) as renderer:
        assert renderer.body.name == "smplx"
        path = renderer.render_video(clip, tmp_path / "smplx.mp4", view="full")
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == NUM_FRAMES and frames[0].shape == (96, 128, 3)
    assert frames[0].std() > 5.0


def test_body_choice_follows_the_environment(fake_model, monkeypatch):
    monkeypatch.delenv(SMPLX_MODEL_ENV, raising=False)
    assert load_body(None).name == "mannequin"
    monkeypatch.setenv(SMPLX_MODEL_ENV, str(fake_model))
    assert load_body(None).name == "smplx"
    assert load_body("mannequin").name == "mannequin"


def _npz_without(source: Path, target: Path, drop: str = "", **replace: np.ndarray) -> Path:
    with np.load(source) as data:
        arrays = {key: data[key] for key in data.files if key != drop}
    arrays.update(replace)
    np.savez(target, **arrays)
    return target


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda src, dst: dst, "not found"),
        (lambda src, dst: dst.write_bytes(b"PK\x03\x04 broken") and dst, "not a readable .npz"),
        (lambda src, dst: _npz_without(src, dst, drop="posedirs"), "lacks the arrays posedirs"),
        (
            lambda src, dst: _npz_without(src, dst, shapedirs=np.zeros((NUM_VERTICES, 3, 20))),
            "older SMPL-X release",
        ),
        (lambda src, dst: _npz_without(src, dst, v_template=np.zeros((6890, 3))), "v_template"),
    ],
)
def test_bad_model_files_name_what_to_download(fake_model, tmp_path, damage, message):
    path = damage(fake_model, tmp_path / "SMPLX_NEUTRAL_2020.npz")
    with pytest.raises(SmplxModelError) as error:
        validate_smplx_model_file(path)
    text = str(error.value)
    assert message in text
    assert "https://smpl-x.is.tue.mpg.de" in text and "SMPLX_NEUTRAL_2020.npz" in text
