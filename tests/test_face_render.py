"""A speaking face on screen: the mannequin's mouth opens with the SMPL-X jaw, and on a
generated SMPL-X model file with a chin hung on the jaw, the rendered mouth region moves when
the jaw does (and nothing else in the picture does)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semges import layout
from semges.motion import MotionClip
from semges.render.bodies.mannequin_body import MannequinBody
from semges.render.bodies.mouth import CLOSED_HEIGHT_M, GAP_M_PER_DEGREE
from tests.test_render_bodies import write_fake_smplx

JAW_COLUMN = layout.FACE_JAW.pose_columns[layout.JAW_OPENING_AXIS]
CHIN_OFFSET_M = np.array([0.0, -0.05, 0.06])  # the fake jaw ball, from the head's centre


def jaw_clip(opening_deg: list[float]) -> MotionClip:
    clip = MotionClip.rest(len(opening_deg))
    clip.poses[:, JAW_COLUMN] = np.radians(opening_deg)
    return clip


@pytest.fixture(scope="module")
def speaking() -> MannequinBody:
    return MannequinBody().with_face()


def test_plain_mannequin_is_the_package_figure_and_with_face_adds_a_mouth(speaking) -> None:
    plain = MannequinBody()
    assert plain.mouth is None and speaking.mouth is not None
    assert len(plain.faces) == len(plain.model.faces)
    extra = speaking.mouth.num_vertices
    assert speaking.num_vertices == plain.num_vertices + extra
    assert speaking.dominant_joint.shape == (speaking.num_vertices,)
    assert speaking.faces.max() == speaking.num_vertices - 1
    assert speaking.with_face() is speaking and plain.with_face() is plain.with_face()


def test_mannequin_mouth_opens_with_the_jaw_and_nothing_else_moves(speaking) -> None:
    chunk = speaking.pose(jaw_clip([0.0, 2.0]), 0, 2)
    assert chunk.vertices.shape == (2, speaking.num_vertices, 3)
    figure = speaking.model.num_vertices
    np.testing.assert_array_equal(chunk.vertices[0, :figure], chunk.vertices[1, :figure])
    mouth = chunk.vertices[:, figure:, layout.VERTICAL_AXIS]  # (2, M) heights
    height = mouth.max(axis=1) - mouth.min(axis=1)
    assert height[0] == pytest.approx(CLOSED_HEIGHT_M, abs=1e-4)
    assert height[1] == pytest.approx(CLOSED_HEIGHT_M + 2.0 * GAP_M_PER_DEGREE, abs=1e-4)


def test_mannequin_mouth_turns_with_the_head(speaking) -> None:
    clip = jaw_clip([1.0, 1.0])
    head = layout.JOINT_NAMES.index("head")
    clip.poses[1, head * 3 + 1] = np.radians(40.0)  # head turned about the vertical
    chunk = speaking.pose(clip, 0, 2)
    figure = speaking.model.num_vertices
    centres = chunk.vertices[:, figure:].mean(axis=1)
    assert np.linalg.norm(centres[1] - centres[0]) > 0.03
    forward = chunk.normals[1, figure]
    assert forward[0] == pytest.approx(np.sin(np.radians(40.0)), abs=1e-3)


def write_fake_smplx_with_chin(path: Path) -> Path:
    """The fake SMPL-X file of test_render_bodies with its jaw ball moved forward and down
    from the head's centre (a chin), the jaw joint left at the head's centre: opening the jaw
    swings the chin, as on the real mesh."""
    write_fake_smplx(path)
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    jaw, head = layout.FACE_JAW.joints[0], layout.JOINT_NAMES.index("head")
    owner = arrays["weights"].argmax(axis=1)
    chin = owner == jaw
    arrays["v_template"][chin] += CHIN_OFFSET_M
    arrays["J_regressor"][jaw] = arrays["J_regressor"][head]
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="module")
def chin_model(tmp_path_factory) -> Path:
    return write_fake_smplx_with_chin(tmp_path_factory.mktemp("chin") / "SMPLX_NEUTRAL_2020.npz")


def test_rendered_mouth_region_moves_with_the_jaw(chin_model) -> None:
    from semges.render import VideoRenderer

    clip = jaw_clip([0.0, 20.0])
    with VideoRenderer(chin_model, size=(160, 160)) as renderer:
        closed = renderer.render_still(clip, 0, "upper").astype(np.int16)
        opened = renderer.render_still(clip, 1, "upper").astype(np.int16)
    changed = np.abs(opened - closed).max(axis=-1) > 30  # (H, W)
    rows = np.flatnonzero(changed.any(axis=1))
    assert changed.sum() > 20  # the chin swung visibly
    assert rows.max() < 0.5 * changed.shape[0]  # only around the head, in the upper half


def test_bvh_carries_the_jaw_rotation(tmp_path) -> None:
    import bvhio
    from scipy.spatial.transform import Rotation

    from semges.render.bvh import write_bvh

    path = write_bvh(jaw_clip([0.0, 3.0]), tmp_path / "talk.bvh")
    root = bvhio.readAsBvh(str(path)).Root
    jaw = next(joint for joint, _, _ in root.layout() if joint.Name == "jaw")
    angles = [
        Rotation.from_quat([k.Rotation.x, k.Rotation.y, k.Rotation.z, k.Rotation.w]).as_rotvec(
            degrees=True
        )
        for k in jaw.Keyframes
    ]
    np.testing.assert_allclose(angles, [[0.0, 0.0, 0.0], [3.0, 0.0, 0.0]], atol=1e-3)
