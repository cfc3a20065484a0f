from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from semges import layout
from semges.motion import MotionClip, MotionFileError, load_motion, save_motion

REAL_CLIP = Path(__file__).parent / "data" / "2_scott_0_1_1.npz"


def test_real_beat2_clip_round_trips(tmp_path):
    clip = load_motion(REAL_CLIP)
    assert clip.num_frames == 1906 and clip.fps == 30
    path = save_motion(clip, tmp_path / "out.npz")
    with np.load(REAL_CLIP) as original, np.load(path) as written:
        assert set(written.files) == {
            "poses",
            "trans",
            "betas",
            "expressions",
            "model",
            "gender",
            "mocap_frame_rate",
        }
        for key in ("poses", "trans", "betas", "expressions"):
            assert written[key].dtype == np.float32
            np.testing.assert_array_equal(written[key], original[key].astype(np.float32))
        assert str(written["model"]) == "smplx2020" and str(written["gender"]) == "neutral"
        assert int(written["mocap_frame_rate"]) == 30
    again = load_motion(path)
    np.testing.assert_array_equal(again.poses, clip.poses)


def test_save_leaves_no_partial_file(tmp_path):
    save_motion(MotionClip.rest(5), tmp_path / "m.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


@pytest.mark.parametrize(
    "content, message",
    [(b"not a zip", "not a readable"), (None, "not found")],
)
def test_bad_motion_files_raise_readable_errors(tmp_path, content, message):
    path = tmp_path / "bad.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(MotionFileError, match=message):
        load_motion(path)


def test_missing_keys_and_wrong_shapes_are_rejected(tmp_path):
    np.savez(tmp_path / "a.npz", poses=np.zeros((3, 165)))
    with pytest.raises(MotionFileError, match="trans"):
        load_motion(tmp_path / "a.npz")
    with pytest.raises(MotionFileError, match="poses must be"):
        MotionClip(np.zeros((3, 99)), np.zeros((3, 3)))


def random_clip(frames: int, seed: int) -> MotionClip:
    rotvecs = Rotation.random(frames * layout.NUM_JOINTS, random_state=seed).as_rotvec()
    trans = np.random.default_rng(seed).normal(size=(frames, 3))
    return MotionClip(rotvecs.reshape(frames, layout.POSE_DIM), trans)


def test_mirroring_is_an_involution():
    clip = random_clip(20, seed=3)
    twice = clip.mirrored().mirrored()
    np.testing.assert_allclose(twice.poses, clip.poses, atol=1e-7)
    np.testing.assert_allclose(twice.trans, clip.trans, atol=1e-7)
    assert not np.allclose(clip.mirrored().poses, clip.poses)


def test_mirroring_swaps_wrists_and_reflects_rotations():
    clip = random_clip(2, seed=5)
    mirrored = clip.mirrored()
    left, right = layout.JOINT_NAMES.index("left_wrist"), layout.JOINT_NAMES.index("right_wrist")
    reflect = np.diag([-1.0, 1.0, 1.0])
    left_rot = Rotation.from_rotvec(clip.poses[0, 3 * left : 3 * left + 3]).as_matrix()
    mirrored_right = Rotation.from_rotvec(mirrored.poses[0, 3 * right : 3 * right + 3]).as_matrix()
    np.testing.assert_allclose(mirrored_right, reflect @ left_rot @ reflect, atol=1e-6)
    np.testing.assert_allclose(mirrored.trans[:, 0], -clip.trans[:, 0])


def test_part_rotations_round_trip_through_6d():
    clip = load_motion(REAL_CLIP)
    hands = clip.part_rot6d(layout.HANDS)
    assert hands.shape == (1906, 180)
    rebuilt = MotionClip.rest(clip.num_frames).with_part_rot6d(layout.HANDS, hands)
    columns = list(layout.HANDS.pose_columns)
    original = Rotation.from_rotvec(clip.poses[:, columns].reshape(-1, 3))
    recovered = Rotation.from_rotvec(rebuilt.poses[:, columns].reshape(-1, 3))
    assert (recovered * original.inv()).magnitude().max() < 1e-5
    assert torch.all(torch.from_numpy(rebuilt.poses[:, list(layout.UPPER_BODY.pose_columns)]) == 0)
