"""Camera framing: one fixed camera per clip that keeps the chosen body part in frame.

Pure numpy, no OpenGL. World coordinates are SMPL-X's: metres, y up. The camera looks at the
body's front (the mean facing direction of the root over the clip), and its distance is the
smallest that keeps the bounding box of every frame's vertices (of the viewed part) inside the
picture, plus a margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from semges.rotations import axis_angle_to_matrix

UP: np.ndarray = np.array([0.0, 1.0, 0.0])
BODY_FORWARD: np.ndarray = np.array([0.0, 0.0, 1.0])  # SMPL-X bodies face +z at rest
VERTICAL_FOV_RAD: float = math.radians(30.0)
NEAR_FRACTION: float = 0.1  # near plane at this fraction of the camera distance
FAR_PADDING_M: float = 5.0
_MIN_HALF_EXTENT_M: float = 0.05


@dataclass(frozen=True)
class View:
    """A named framing: which vertices must stay visible, from how high, with what margin."""

    name: str
    upper_body_only: bool
    pitch_rad: float  # camera tilt, positive looks down
    margin: float  # fraction of the half extent added on every side
    show_floor: bool


VIEWS: dict[str, View] = {
    "upper": View("upper", upper_body_only=True, pitch_rad=math.radians(2.0), margin=0.06,
                  show_floor=False),
    "full": View("full", upper_body_only=False, pitch_rad=math.radians(8.0), margin=0.06,
                 show_floor=True),
}


@dataclass(frozen=True)
class CameraSetup:
    """A fixed perspective camera. ``pose`` is camera-to-world (OpenGL: looks along -z)."""

    pose: np.ndarray  # (4, 4)
    yfov: float  # radians
    aspect: float  # width / height
    znear: float  # metres
    zfar: float  # metres


def facing_direction(root_axis_angle: np.ndarray) -> np.ndarray:
    """(3,) unit horizontal direction the body faces on average.

    root_axis_angle: (T, 3) SMPL-X root orientations in radians. Falls back to +z when the
    average is degenerate (a body turning a full circle).
    """
    import torch

    rotations = axis_angle_to_matrix(torch.as_tensor(root_axis_angle, dtype=torch.float64))
    forward = (rotations.numpy() @ BODY_FORWARD).mean(axis=0)
    forward[1] = 0.0
    norm = float(np.linalg.norm(forward))
    return BODY_FORWARD.copy() if norm < 1e-6 else forward / norm


def camera_rotation(forward: np.ndarray, pitch_rad: float) -> np.ndarray:
    """(3, 3) camera-to-world rotation for a camera in front of a body facing ``forward``.

    Columns: camera x (screen right), y (screen up) and z (towards the viewer, away from the
    body). The camera is turned down by ``pitch_rad``.
    """
    back = forward / np.linalg.norm(forward)  # the camera sits on the side the body faces
    right = np.cross(UP, back)
    right /= np.linalg.norm(right)
    level = np.stack([right, UP, back], axis=1)
    cos, sin = math.cos(pitch_rad), math.sin(pitch_rad)
    tilt = np.array([[1.0, 0.0, 0.0], [0.0, cos, sin], [0.0, -sin, cos]])  # about camera x
    return level @ tilt


class BoundsInCamera:
    """Running min/max of points expressed in a camera's axes, over chunks of frames."""

    def __init__(self, rotation: np.ndarray) -> None:
        self.rotation = np.asarray(rotation, np.float64)
        self.low = np.full(3, np.inf)
        self.high = np.full(3, -np.inf)

    def update(self, points: np.ndarray) -> None:
        """points: (..., 3) world positions in metres."""
        flat = points.reshape(-1, 3)
        if flat.shape[0] == 0:
            return
        # (3, N): reducing along the contiguous axis is several times faster than axis 0.
        local = self.rotation.T.astype(flat.dtype) @ flat.T
        self.low = np.minimum(self.low, local.min(axis=1))
        self.high = np.maximum(self.high, local.max(axis=1))

    @property
    def empty(self) -> bool:
        return not np.all(np.isfinite(self.low))


def fit_camera(bounds: BoundsInCamera, aspect: float, margin: float,
               yfov: float = VERTICAL_FOV_RAD) -> CameraSetup:
    """The closest camera along the bounds' z axis that shows the whole box with ``margin``.

    The camera is centred on the box's x/y middle; every box point lies at least as far as the
    box's near face, so fitting the near face fits them all.
    """
    if bounds.empty:
        raise ValueError("no vertices seen: cannot frame an empty clip")
    half = np.maximum((bounds.high - bounds.low) / 2.0, _MIN_HALF_EXTENT_M) * (1.0 + margin)
    middle = (bounds.high + bounds.low) / 2.0
    tan_y = math.tan(yfov / 2.0)
    distance = max(half[1] / tan_y, half[0] / (tan_y * aspect))
    local_position = np.array([middle[0], middle[1], bounds.high[2] + distance])
    pose = np.eye(4)
    pose[:3, :3] = bounds.rotation
    pose[:3, 3] = bounds.rotation @ local_position
    depth = bounds.high[2] - bounds.low[2]
    return CameraSetup(pose=pose, yfov=yfov, aspect=aspect, znear=NEAR_FRACTION * distance,
                       zfar=distance + depth + FAR_PADDING_M)


def project(points: np.ndarray, camera: CameraSetup) -> np.ndarray:
    """(N, 3) world points -> (N, 2) normalised device coordinates in [-1, 1] when visible."""
    world_to_camera = np.linalg.inv(camera.pose)
    local = points @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
    depth = -local[:, 2]
    tan_y = math.tan(camera.yfov / 2.0)
    return np.stack([local[:, 0] / (depth * tan_y * camera.aspect), local[:, 1] / (depth * tan_y)],
                    axis=1)
