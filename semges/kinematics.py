"""Forward kinematics of the SMPL-X skeleton (pure torch): axis-angle poses -> joint positions.

The skeleton is :mod:`semges.skeleton`'s neutral SMPL-X rest skeleton (betas = 0, all 55
joints, jaw and eyes included), the one the renderer, the BVH and the glTF exports draw.
:func:`forward_kinematics` poses it with local rotations as given; :func:`joint_positions`
(what the metrics use) first applies the hand convention (:func:`semges.skeleton.
with_relaxed_hands`), so the measured fingers are the drawn fingers. Positions are in metres,
model coordinates (the pelvis at its rest position), with no root translation applied.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from semges import layout, skeleton
from semges.rotations import axis_angle_to_matrix

KINEMATICS_CHUNK_FRAMES: int = 4096
"""Frames posed at once by :func:`joint_positions` (about 40 MB of rotation matrices)."""


@functools.lru_cache(maxsize=1)
def rest_joint_positions() -> np.ndarray:
    """(55, 3) float32 SMPL-X neutral rest joint positions in metres (``semges.skeleton``)."""
    joints = skeleton.rest_joint_positions().astype(np.float32)
    joints.flags.writeable = False
    return joints


def rest_offsets() -> torch.Tensor:
    """(55, 3) offset of every joint from its parent at rest (the root's is its position)."""
    return torch.from_numpy(skeleton.rest_offsets(rest_joint_positions()).astype(np.float32))


def forward_kinematics(poses: torch.Tensor, offsets: torch.Tensor | None = None) -> torch.Tensor:
    """(..., 165) axis-angle poses -> (..., 55, 3) joint positions in metres.

    ``offsets`` (55, 3) defaults to the neutral SMPL-X skeleton (``rest_offsets``).
    """
    if offsets is None:
        offsets = rest_offsets()
    offsets = offsets.to(poses)
    local = axis_angle_to_matrix(
        poses.reshape(*poses.shape[:-1], layout.NUM_JOINTS, layout.AXIS_ANGLE_DIM)
    )  # (..., 55, 3, 3)
    rotations: list[torch.Tensor] = [local[..., 0, :, :]]
    positions: list[torch.Tensor] = [offsets[0].expand(*poses.shape[:-1], 3)]
    for joint in range(1, layout.NUM_JOINTS):
        parent = layout.PARENTS[joint]
        parent_rotation = rotations[parent]
        rotations.append(parent_rotation @ local[..., joint, :, :])
        positions.append(positions[parent] + (parent_rotation @ offsets[joint][:, None])[..., 0])
    return torch.stack(positions, dim=-2)


def joint_positions(poses: np.ndarray) -> np.ndarray:
    """(T, 165) axis-angle numpy poses as stored (BEAT2) -> (T, 55, 3) float32 joint positions (m)
    of the body as drawn (relaxed hands added), neutral skeleton, model coordinates, no
    translation (``forward_kinematics`` without autograd)."""
    drawn = skeleton.with_relaxed_hands(np.asarray(poses, np.float32))
    positions = np.empty((drawn.shape[0], layout.NUM_JOINTS, 3), np.float32)
    # Frames are independent: chunks bound the rotation matrices held at once, whatever T.
    with torch.no_grad():
        for start in range(0, drawn.shape[0], KINEMATICS_CHUNK_FRAMES):
            chunk = torch.from_numpy(drawn[start : start + KINEMATICS_CHUNK_FRAMES])
            positions[start : start + chunk.shape[0]] = forward_kinematics(chunk).numpy()
    return positions
