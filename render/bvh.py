"""BVH export of SMPL-X motion: the 55-joint SMPL-X skeleton with Euler-angle channels.

Skeleton: SMPL-X joint names and parents (``semges.layout``); bone offsets are the rest joint
positions of the SMPL-X neutral body for the clip's first ten betas, from the ``mannequin-x``
calibration (no licensed file needed). The calibration has no jaw or eyes, so those three
offsets are fixed approximations relative to the head (they only place the jaw and eye bones).

Channels: the root (pelvis) has ``Xposition Yposition Zposition`` (its world position) and
every joint has ``Zrotation Yrotation Xrotation`` in degrees, the local rotation being
R = Rz(z) @ Ry(y) @ Rx(x) (intrinsic Z-Y-X, the usual BVH reading). Finger rotations include
SMPL-X's relaxed mean hand (BEAT2 hand poses are offsets from it, as smplx reads them), so a
BVH viewer shows the same hands as the rendered video. Units: metres times
``scale`` (pass 100 for centimetres); y is up, the body faces +z. Frame time 1/30 s.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from semges import layout
from semges.atomic_files import atomic_output
from semges.motion import MotionClip

EULER_ORDER: str = "ZYX"  # intrinsic, as scipy spells it (uppercase)
ROTATION_CHANNELS: tuple[str, ...] = tuple(f"{axis}rotation" for axis in EULER_ORDER)
POSITION_CHANNELS: tuple[str, ...] = ("Xposition", "Yposition", "Zposition")
DECIMALS: int = 6
NUM_SHAPE_COEFFICIENTS: int = 10
END_SITE_FRACTION: float = 0.5  # a leaf's end site continues its bone by this fraction
# Jaw and eye joints relative to the head joint, metres (approximate SMPL-X neutral values).
JAW_FROM_HEAD_M: tuple[float, float, float] = (0.0, -0.01, 0.03)
LEFT_EYE_FROM_HEAD_M: tuple[float, float, float] = (0.031, 0.06, 0.07)
_INDENT: str = "  "


def rest_joint_positions(betas: np.ndarray | None = None) -> np.ndarray:
    """(55, 3) SMPL-X rest joint positions in metres for ``betas`` (first ten used)."""
    from mannequin import Mannequin

    from render.bodies.mannequin_body import smplx_joint_of

    model = Mannequin("wooden", flat_hand_mean=True)  # rest = straight fingers
    shape = np.zeros(NUM_SHAPE_COEFFICIENTS, np.float32)
    if betas is not None:
        count = min(NUM_SHAPE_COEFFICIENTS, len(betas))
        shape[:count] = np.asarray(betas, np.float32)[:count]
    model.reshape(shape)
    mannequin_joints = np.asarray(model.joint_transforms(model.rest_pose()))[:, :3, 3]
    smplx_index = smplx_joint_of(model.joint_names, model.parents)
    rest = np.full((layout.NUM_JOINTS, 3), np.nan)
    for mannequin_joint, joint in enumerate(smplx_index):
        if np.isnan(rest[joint, 0]):  # palm ends share the wrist's index: keep the wrist
            rest[joint] = mannequin_joints[mannequin_joint]
    head = rest[layout.JOINT_NAMES.index("head")]
    left_eye, right_eye = layout.EYES.joints
    rest[layout.JAW.joints[0]] = head + JAW_FROM_HEAD_M
    rest[left_eye] = head + LEFT_EYE_FROM_HEAD_M
    rest[right_eye] = head + np.asarray(LEFT_EYE_FROM_HEAD_M) * (-1.0, 1.0, 1.0)
    if np.isnan(rest).any():
        raise RuntimeError("mannequin-x calibration lacks some SMPL-X joints")
    return rest


def _children() -> list[list[int]]:
    children: list[list[int]] = [[] for _ in range(layout.NUM_JOINTS)]
    for joint, parent in enumerate(layout.PARENTS):
        if parent >= 0:
            children[parent].append(joint)
    return children


def _format(values: np.ndarray) -> str:
    return " ".join(f"{value:.{DECIMALS}f}" for value in values)


def bvh_joint_order() -> list[int]:
    """SMPL-X joint indices in the order their channels appear in a frame (depth first)."""
    children = _children()
    order: list[int] = []
    stack = [0]
    while stack:
        joint = stack.pop()
        order.append(joint)
        stack.extend(reversed(children[joint]))
    return order


def _hierarchy(rest: np.ndarray, scale: float) -> str:
    children = _children()
    out = io.StringIO()

    def write(joint: int, depth: int) -> None:
        pad = _INDENT * depth
        parent = layout.PARENTS[joint]
        keyword = "ROOT" if parent < 0 else "JOINT"
        offset = np.zeros(3) if parent < 0 else (rest[joint] - rest[parent]) * scale
        channels = (POSITION_CHANNELS if parent < 0 else ()) + ROTATION_CHANNELS
        out.write(f"{pad}{keyword} {layout.JOINT_NAMES[joint]}\n{pad}{{\n")
        out.write(f"{pad}{_INDENT}OFFSET {_format(offset)}\n")
        out.write(f"{pad}{_INDENT}CHANNELS {len(channels)} {' '.join(channels)}\n")
        for child in children[joint]:
            write(child, depth + 1)
        if not children[joint]:
            tip = (rest[joint] - rest[parent]) * scale * END_SITE_FRACTION
            out.write(f"{pad}{_INDENT}End Site\n{pad}{_INDENT}{{\n")
            out.write(f"{pad}{_INDENT * 2}OFFSET {_format(tip)}\n{pad}{_INDENT}}}\n")
        out.write(f"{pad}}}\n")

    write(0, 0)
    return out.getvalue()


def local_axis_angle(motion: MotionClip) -> np.ndarray:
    """(T, 55, 3) float64 local joint rotations as the body shows them (hand mean added)."""
    from render.bodies.mannequin_body import FLAT_HAND_MEAN, relaxed_hand_mean

    axis_angle = motion.poses.reshape(motion.num_frames, layout.NUM_JOINTS,
                                      layout.AXIS_ANGLE_DIM).astype(np.float64)
    if not FLAT_HAND_MEAN:
        axis_angle[:, list(layout.HANDS.joints)] += relaxed_hand_mean()
    return axis_angle


def motion_channels(motion: MotionClip, rest: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """(T, 3 + 55 * 3) BVH frame values: root position, then Euler angles in degrees.

    Joints appear in :func:`bvh_joint_order`; each joint's angles follow ``EULER_ORDER``.
    """
    num_frames = motion.num_frames
    axis_angle = local_axis_angle(motion)
    order = bvh_joint_order()
    with warnings.catch_warnings():
        # Gimbal lock only makes the split between the outer angles arbitrary; the rotation
        # the three angles compose is still exact.
        warnings.simplefilter("ignore", UserWarning)
        euler = Rotation.from_rotvec(axis_angle[:, order].reshape(-1, 3)).as_euler(
            EULER_ORDER, degrees=True)
    root = (rest[0] + motion.trans.astype(np.float64)) * scale  # pelvis world position
    return np.concatenate([root, euler.reshape(num_frames, -1)], axis=1)


def write_bvh(motion: MotionClip, path: str | os.PathLike, scale: float = 1.0) -> Path:
    """Write ``motion`` as a BVH file at ``path`` (atomically); returns the path.

    scale: multiplies every length (1 = metres, 100 = centimetres).
    """
    if motion.num_frames < 1:
        raise ValueError("the motion has no frames")
    path = Path(path)
    rest = rest_joint_positions(motion.betas)
    frames = motion_channels(motion, rest, scale)
    with atomic_output(path) as partial, open(partial, "w", encoding="ascii") as handle:
        handle.write("HIERARCHY\n")
        handle.write(_hierarchy(rest, scale))
        handle.write(f"MOTION\nFrames: {motion.num_frames}\n")
        handle.write(f"Frame Time: {1.0 / motion.fps:.8f}\n")
        np.savetxt(handle, frames, fmt=f"%.{DECIMALS}f", delimiter=" ")
    return path
