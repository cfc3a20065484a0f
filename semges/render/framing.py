"""Camera framing: one fixed camera per clip that keeps the chosen body part in frame.

Pure numpy, no OpenGL. World coordinates are SMPL-X's: metres, y up. The camera looks at the
body's front (the mean facing direction of the root over the clip) and is placed as close as
it can be while every vertex of the viewed part, in every frame, stays inside the picture with
a margin (:class:`CameraFit`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

UP: np.ndarray = np.array([0.0, 1.0, 0.0])
BODY_FORWARD: np.ndarray = np.array([0.0, 0.0, 1.0])  # SMPL-X bodies face +z at rest
VERTICAL_FOV_RAD: float = math.radians(30.0)
NEAR_FRACTION: float = 0.5  # near plane at this fraction of the distance to the nearest point
FAR_PADDING_M: float = 5.0
_MIN_HALF_EXTENT_M: float = 0.05  # the camera stays at least this far in front of the body
_MIN_NEAR_M: float = 0.01


@dataclass(frozen=True)
class View:
    """A named framing: which vertices must stay visible, from how high, with what margin."""

    name: str
    upper_body_only: bool
    pitch_rad: float  # camera tilt, positive looks down
    margin: float  # fraction of the half extent added on every side
    show_floor: bool


VIEWS: dict[str, View] = {
    "upper": View(
        "upper", upper_body_only=True, pitch_rad=math.radians(2.0), margin=0.06, show_floor=False
    ),
    "full": View(
        "full", upper_body_only=False, pitch_rad=math.radians(8.0), margin=0.06, show_floor=True
    ),
}

DEFAULT_VIEW: str = "upper"


def check_view(view: str) -> str:
    """``view`` if it names one of :data:`VIEWS`; ValueError naming the choices otherwise."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; choose one of {', '.join(VIEWS)}")
    return view


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
    rotations = Rotation.from_rotvec(np.asarray(root_axis_angle, np.float64)).as_matrix()
    forward = (rotations @ BODY_FORWARD).mean(axis=0)
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


class CameraFit:
    """The closest camera with a given orientation and field of view that sees every point.

    For a camera at c (in its own axes) looking along -z, a point p is inside the picture when
    |p_x - c_x| <= (c_z - p_z) * tan_x and |p_y - c_y| <= (c_z - p_z) * tan_y. Each of the
    four conditions is linear in c, so only four running maxima over all points are needed:
    max(p_z * tan_x + p_x), max(p_z * tan_x - p_x), and the same for y. They accumulate over
    chunks of frames, and the tightest camera follows in closed form.

    rotation: (3, 3) camera-to-world; aspect: width / height; margin: the picture's outer
    fraction kept empty (0.06: the body fills at most 1 / 1.06 of each half-axis).
    """

    def __init__(
        self, rotation: np.ndarray, aspect: float, margin: float, yfov: float = VERTICAL_FOV_RAD
    ) -> None:
        self.rotation = np.asarray(rotation, np.float64)
        self.aspect = aspect
        self.yfov = yfov
        tan_y = math.tan(yfov / 2.0) / (1.0 + margin)
        self._tan = np.array([tan_y * aspect, tan_y])  # (x, y) half-angle tangents, shrunk
        self._support = np.full(4, -np.inf)  # +x, -x, +y, -y
        self.low = np.full(3, np.inf)  # box in camera axes, for the clipping planes
        self.high = np.full(3, -np.inf)

    def update(self, points: np.ndarray) -> None:
        """points: (..., 3) world positions in metres."""
        flat = points.reshape(-1, 3)
        if flat.shape[0] == 0:
            return
        # (3, N): reductions along the contiguous axis are several times faster than axis 0.
        local = self.rotation.T.astype(flat.dtype) @ flat.T
        depth_x = local[2] * self._tan[0]
        depth_y = local[2] * self._tan[1]
        support = np.array(
            [
                (depth_x + local[0]).max(),
                (depth_x - local[0]).max(),
                (depth_y + local[1]).max(),
                (depth_y - local[1]).max(),
            ]
        )
        self._support = np.maximum(self._support, support)
        self.low = np.minimum(self.low, local.min(axis=1))
        self.high = np.maximum(self.high, local.max(axis=1))

    @property
    def empty(self) -> bool:
        return not np.all(np.isfinite(self._support))

    def camera(self) -> CameraSetup:
        """The fitted camera. Raises ValueError when no point was seen."""
        if self.empty:
            raise ValueError("no vertices seen: cannot frame an empty clip")
        plus_x, minus_x, plus_y, minus_y = self._support
        tan_x, tan_y = self._tan
        # Tight on both sides of one axis: c_x = (A - B) / 2, c_z = (A + B) / (2 tan_x).
        depth = max(
            (plus_x + minus_x) / (2.0 * tan_x),
            (plus_y + minus_y) / (2.0 * tan_y),
            self.high[2] + _MIN_HALF_EXTENT_M,
        )
        local_position = np.array([(plus_x - minus_x) / 2.0, (plus_y - minus_y) / 2.0, depth])
        pose = np.eye(4)
        pose[:3, :3] = self.rotation
        pose[:3, 3] = self.rotation @ local_position
        nearest = depth - self.high[2]
        return CameraSetup(
            pose=pose,
            yfov=self.yfov,
            aspect=self.aspect,
            znear=max(NEAR_FRACTION * nearest, _MIN_NEAR_M),
            zfar=depth - self.low[2] + FAR_PADDING_M,
        )


def project(points: np.ndarray, camera: CameraSetup) -> np.ndarray:
    """(N, 3) world points -> (N, 2) normalised device coordinates in [-1, 1] when visible."""
    world_to_camera = np.linalg.inv(camera.pose)
    local = points @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
    depth = -local[:, 2]
    tan_y = math.tan(camera.yfov / 2.0)
    return np.stack(
        [local[:, 0] / (depth * tan_y * camera.aspect), local[:, 1] / (depth * tan_y)], axis=1
    )
