"""BVH export of SMPL-X motion: the 55-joint SMPL-X skeleton with Euler-angle channels.

Skeleton: SMPL-X joint names and parents (``semges.layout``); bone offsets are the rest joint
positions of ``semges.skeleton`` (the project's one SMPL-X skeleton) for the clip's first ten
betas, jaw and eyes included.

Channels: the root (pelvis) has ``Xposition Yposition Zposition`` (its world position) and
every joint has ``Zrotation Yrotation Xrotation`` in degrees, the local rotation being
R = Rz(z) @ Ry(y) @ Rx(x) (intrinsic Z-Y-X, the usual BVH reading). Finger rotations follow
the hand convention of ``semges.skeleton`` (``with_relaxed_hands``), so a BVH viewer shows the
same hands as the rendered video. Units: metres times
``scale`` (pass 100 for centimetres); y is up, the body faces +z. Frame time 1/30 s.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from semges import layout, skeleton
from semges.atomic_files import atomic_output
from semges.motion import MotionClip

EULER_ORDER: str = "ZYX"  # intrinsic, as scipy spells it (uppercase)
ROTATION_CHANNELS: tuple[str, ...] = tuple(f"{axis}rotation" for axis in EULER_ORDER)
POSITION_CHANNELS: tuple[str, ...] = ("Xposition", "Yposition", "Zposition")
DECIMALS: int = 6
END_SITE_FRACTION: float = 0.5  # a leaf's end site continues its bone by this fraction
_INDENT: str = "  "


def rest_joint_positions(betas: np.ndarray | None = None) -> np.ndarray:
    """(55, 3) float64 SMPL-X rest joint positions in metres for ``betas`` (first ten used):
    ``semges.skeleton.rest_joint_positions``."""
    return skeleton.rest_joint_positions(betas)


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
    drawn = skeleton.with_relaxed_hands(motion.poses.astype(np.float64))
    return drawn.reshape(motion.num_frames, layout.NUM_JOINTS, layout.AXIS_ANGLE_DIM)


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
            EULER_ORDER, degrees=True
        )
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
