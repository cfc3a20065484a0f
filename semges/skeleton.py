"""The one SMPL-X skeleton: rest joint positions and the hand-pose convention.

Everything that poses the 55-joint SMPL-X skeleton reads it from here: the metrics' forward
kinematics (``semges.kinematics``), the BVH and glTF exports and both render bodies, so the
joints a metric measures are the joints a video draws.

Rest skeleton: the neutral SMPL-X body's joint positions (metres, model coordinates, y up,
facing +z), from the ``mannequin-x`` package's SMPL-X calibration asset, which stores the rest
positions of 54 joints (22 body joints, two palm ends the figure adds, 30 finger joints) and
their linear change with the first ten betas, exactly as the mannequin figure uses them. The
asset has no jaw or eyes; they sit at fixed offsets from the head (``JAW_FROM_HEAD_M``,
``LEFT_EYE_FROM_HEAD_M``, ``RIGHT_EYE_FROM_HEAD_M``; approximate SMPL-X neutral values that do
not change with betas). Those three joints are leaves whose rotation moves nothing else, so
their offsets only place the jaw and eye bones.

Hand convention: BEAT2 (like EMAGE and smplx's default ``flat_hand_mean=False``) stores finger
rotations as offsets from SMPL-X's relaxed mean hand; a finger joint's actual local rotation is
the axis-angle sum ``hand_pose + HAND_MEAN`` (:func:`with_relaxed_hands`). ``FLAT_HAND_MEAN``
switches the whole project to flat hands at once.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from semges import layout

CALIBRATION_PACKAGE: str = "mannequin"  # import name of the mannequin-x distribution
CALIBRATION_ASSET: tuple[str, ...] = ("assets", "smplx_calibration.npz")
NUM_CALIBRATED_BETAS: int = 10  # the calibration follows the first ten SMPL-X betas
NUM_CALIBRATION_JOINTS: int = 54

FLAT_HAND_MEAN: bool = False
"""False: hand poses are offsets from the relaxed mean hand (smplx's default, BEAT2, EMAGE)."""

JAW_FROM_HEAD_M: tuple[float, float, float] = (0.0, -0.01, 0.03)
LEFT_EYE_FROM_HEAD_M: tuple[float, float, float] = (0.031, 0.06, 0.07)
RIGHT_EYE_FROM_HEAD_M: tuple[float, float, float] = (-0.031, 0.06, 0.07)  # the mirror image

# Rows of the calibration's 54-joint table holding SMPL-X joints 0..21 and 25..54 (the figure
# inserts its left/right palm ends at rows 22 and 23).
_BODY_ROWS: tuple[int, ...] = tuple(range(layout.JAW.joints[0]))
_FINGER_ROWS: tuple[int, ...] = tuple(range(layout.JAW.joints[0] + 2, NUM_CALIBRATION_JOINTS))
_HEAD: int = layout.JOINT_NAMES.index("head")


@functools.lru_cache(maxsize=1)
def _calibration() -> dict[str, np.ndarray]:
    """The calibration arrays, float64: joint_rest (54, 3), joint_dirs (54, 3, 10),
    hand_mean (30, 3)."""
    spec = importlib.util.find_spec(CALIBRATION_PACKAGE)
    if spec is None or spec.origin is None:
        raise RuntimeError("the SMPL-X skeleton needs the mannequin-x package (its calibration)")
    path = Path(spec.origin).parent.joinpath(*CALIBRATION_ASSET)
    with np.load(path) as data:
        return {
            key: data[key].astype(np.float64) for key in ("joint_rest", "joint_dirs", "hand_mean")
        }


def _shape(betas: np.ndarray | None) -> np.ndarray:
    """(10,) float64: the first ten ``betas``, zero-padded (None: the neutral body)."""
    shape = np.zeros(NUM_CALIBRATED_BETAS)
    if betas is not None:
        betas = np.asarray(betas, np.float64).reshape(-1)
        count = min(NUM_CALIBRATED_BETAS, betas.shape[0])
        shape[:count] = betas[:count]
    return shape


def rest_joint_positions(betas: np.ndarray | None = None) -> np.ndarray:
    """(55, 3) float64 SMPL-X rest joint positions in metres, for the first ten ``betas``
    (None or zeros: the neutral body), in ``semges.layout`` joint order."""
    calibration = _calibration()
    table = calibration["joint_rest"] + calibration["joint_dirs"] @ _shape(betas)  # (54, 3)
    joints = np.zeros((layout.NUM_JOINTS, 3))
    joints[: len(_BODY_ROWS)] = table[list(_BODY_ROWS)]
    joints[layout.LEFT_HAND.joints[0] :] = table[list(_FINGER_ROWS)]
    left_eye, right_eye = layout.EYES.joints
    joints[layout.JAW.joints[0]] = joints[_HEAD] + JAW_FROM_HEAD_M
    joints[left_eye] = joints[_HEAD] + LEFT_EYE_FROM_HEAD_M
    joints[right_eye] = joints[_HEAD] + RIGHT_EYE_FROM_HEAD_M
    return joints


def rest_offsets(rest: np.ndarray) -> np.ndarray:
    """(55, 3) rest joint positions -> (55, 3) offset of every joint from its parent (the
    root's offset is its position)."""
    parents = np.array([max(parent, 0) for parent in layout.PARENTS])
    offsets = rest - rest[parents]
    offsets[0] = rest[0]
    return offsets


def hand_mean() -> np.ndarray:
    """(30, 3) float64 axis-angle added to the finger joints (left hand then right, SMPL-X
    joint order): the relaxed mean hand, or zeros with ``FLAT_HAND_MEAN``."""
    if FLAT_HAND_MEAN:
        return np.zeros((layout.HANDS.num_joints, layout.AXIS_ANGLE_DIM))
    return _calibration()["hand_mean"].copy()


def relaxed_hand_mean() -> np.ndarray:
    """(30, 3) float64 axis-angle of SMPL-X's relaxed mean hand (whatever ``FLAT_HAND_MEAN``)."""
    return _calibration()["hand_mean"].copy()


def with_relaxed_hands(poses: np.ndarray) -> np.ndarray:
    """(..., 165) axis-angle poses as stored (BEAT2) -> (..., 165) local joint rotations as the
    body is drawn: :func:`hand_mean` added to the 30 finger joints (a new array, same dtype)."""
    poses = np.asarray(poses)
    drawn = poses.copy()
    columns = list(layout.pose_columns(layout.HANDS.joints))
    drawn[..., columns] += hand_mean().reshape(-1).astype(poses.dtype)
    return drawn
