"""Rotation conversions between axis-angle, rotation matrices, quaternions and the 6D
representation.

The 6D representation is the first two *rows* of the rotation matrix, flattened (as in
pytorch3d's ``matrix_to_rotation_6d``, which EMAGE and SemGes use). Conversions go through
``roma``; these wrappers only fix the 6D convention and the shapes.
"""

from __future__ import annotations

import roma
import torch

from semges.layout import AXIS_ANGLE_DIM, ROT6D_DIM, ROTMAT_SHAPE


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """(..., 3) rotation vectors in radians -> (..., 3, 3) rotation matrices."""
    return roma.rotvec_to_rotmat(axis_angle)


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrices -> (..., 3) rotation vectors, angle in [0, pi]."""
    return roma.rotmat_to_rotvec(matrix)


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrices -> (..., 4) unit quaternions (x, y, z, w): scalar last, as
    glTF, Unity and the VMC protocol write them (either sign of a quaternion is returned)."""
    return roma.rotmat_to_unitquat(matrix)


def matrix_to_rot6d(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrices -> (..., 6): the first two rows, flattened."""
    return matrix[..., :2, :].reshape(*matrix.shape[:-2], ROT6D_DIM)


def rot6d_to_matrix(rot6d: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3) rotation matrices, by Gram-Schmidt on the two rows.

    Any 6D vector whose two halves are linearly independent maps to a valid rotation, so
    network outputs need no normalisation before this call.
    """
    rows = rot6d.reshape(*rot6d.shape[:-1], 2, ROTMAT_SHAPE[1])  # (..., 2, 3)
    # roma orthonormalises columns: hand it the rows as columns and transpose back.
    return roma.special_gramschmidt(rows.transpose(-1, -2)).transpose(-1, -2)


def axis_angle_to_rot6d(axis_angle: torch.Tensor) -> torch.Tensor:
    """(..., 3) -> (..., 6)."""
    return matrix_to_rot6d(axis_angle_to_matrix(axis_angle))


def rot6d_to_axis_angle(rot6d: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3)."""
    return matrix_to_axis_angle(rot6d_to_matrix(rot6d))


def flat_axis_angle_to_rot6d(poses: torch.Tensor) -> torch.Tensor:
    """(..., J * 3) flat axis-angle -> (..., J * 6) flat 6D, joint order kept."""
    joints = poses.reshape(*poses.shape[:-1], -1, AXIS_ANGLE_DIM)
    return axis_angle_to_rot6d(joints).flatten(-2)


def flat_rot6d_to_axis_angle(rot6d: torch.Tensor) -> torch.Tensor:
    """(..., J * 6) flat 6D -> (..., J * 3) flat axis-angle, joint order kept."""
    joints = rot6d.reshape(*rot6d.shape[:-1], -1, ROT6D_DIM)
    return rot6d_to_axis_angle(joints).flatten(-2)


def flat_rot6d_to_matrix(rot6d: torch.Tensor) -> torch.Tensor:
    """(..., J * 6) flat 6D -> (..., J, 3, 3)."""
    return rot6d_to_matrix(rot6d.reshape(*rot6d.shape[:-1], -1, ROT6D_DIM))
