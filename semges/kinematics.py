"""Forward kinematics of the SMPL-X skeleton (pure torch): axis-angle poses -> joint positions.

Joint rest positions are those of the neutral SMPL-X body (betas = 0), taken from the
``mannequin`` package's SMPL-X calibration asset (``mannequin/assets/smplx_calibration.npz``,
``joint_rest``), which stores the 22 body joints, two extra hand anchors and the 30 finger
joints. Jaw and eyes are not in it; they sit at the head joint (zero offset), which only
matters for metrics if those joints move (semges keeps them at rest). Positions are in metres,
relative to the pelvis rest position, with no root translation applied.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import torch

from semges import layout
from semges.rotations import axis_angle_to_matrix

CALIBRATION_ASSET = ("assets", "smplx_calibration.npz")
# Rows of the calibration's 54-joint table holding SMPL-X joints 0..21 and 25..54 (the
# mannequin inserts left/right hand anchors at rows 22 and 23).
_BODY_ROWS = tuple(range(22))
_FINGER_ROWS = tuple(range(24, 54))
_HEAD_ATTACHED = ("jaw", "left_eye_smplhf", "right_eye_smplhf")


@functools.lru_cache(maxsize=1)
def rest_joint_positions() -> np.ndarray:
    """(55, 3) float32 SMPL-X neutral rest joint positions in metres."""
    spec = importlib.util.find_spec("mannequin")
    if spec is None or spec.origin is None:
        raise RuntimeError("forward kinematics needs the mannequin-x package (SMPL-X calibration)")
    path = Path(spec.origin).parent.joinpath(*CALIBRATION_ASSET)
    with np.load(path) as data:
        table = data["joint_rest"].astype(np.float32)  # (54, 3)
    joints = np.zeros((layout.NUM_JOINTS, 3), np.float32)
    joints[: len(_BODY_ROWS)] = table[list(_BODY_ROWS)]
    joints[layout.LEFT_HAND.joints[0]:] = table[list(_FINGER_ROWS)]
    head = layout.JOINT_NAMES.index("head")
    for name in _HEAD_ATTACHED:
        joints[layout.JOINT_NAMES.index(name)] = joints[head]
    return joints


def rest_offsets() -> torch.Tensor:
    """(55, 3) offset of every joint from its parent at rest (the root's is its position)."""
    joints = torch.from_numpy(rest_joint_positions())
    parents = torch.tensor([max(p, 0) for p in layout.PARENTS])
    offsets = joints - joints[parents]
    offsets[0] = joints[0]
    return offsets


def forward_kinematics(poses: torch.Tensor, offsets: torch.Tensor | None = None) -> torch.Tensor:
    """(..., 165) axis-angle poses -> (..., 55, 3) joint positions in metres.

    ``offsets`` (55, 3) defaults to the neutral SMPL-X skeleton (``rest_offsets``).
    """
    if offsets is None:
        offsets = rest_offsets()
    offsets = offsets.to(poses)
    local = axis_angle_to_matrix(poses.reshape(*poses.shape[:-1], layout.NUM_JOINTS,
                                               layout.AXIS_ANGLE_DIM))  # (..., 55, 3, 3)
    rotations: list[torch.Tensor] = [local[..., 0, :, :]]
    positions: list[torch.Tensor] = [offsets[0].expand(*poses.shape[:-1], 3)]
    for joint in range(1, layout.NUM_JOINTS):
        parent = layout.PARENTS[joint]
        parent_rotation = rotations[parent]
        rotations.append(parent_rotation @ local[..., joint, :, :])
        positions.append(positions[parent] + (parent_rotation @ offsets[joint][:, None])[..., 0])
    return torch.stack(positions, dim=-2)


def joint_positions(poses: np.ndarray) -> np.ndarray:
    """(T, 165) axis-angle numpy poses -> (T, 55, 3) float32 joint positions (m) on the neutral
    skeleton, model coordinates, no translation (``forward_kinematics`` without autograd)."""
    with torch.no_grad():
        return forward_kinematics(torch.from_numpy(np.asarray(poses, np.float32))).numpy()
