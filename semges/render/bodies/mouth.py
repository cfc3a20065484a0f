"""A simple mouth for a figure without a face: a dark lens on the front of the head whose lower
lip drops as the SMPL-X jaw opens, so a viewer sees the figure speak.

The wooden mannequin has no jaw and no face. The mouth is a strip of triangles between an
upper and a lower lip line, both following an ellipse, laid on the head's front surface and
moved rigidly with the head. Its height is ``CLOSED_HEIGHT_M`` when the jaw is at rest and
grows by ``GAP_M_PER_DEGREE`` for every degree of jaw opening (up to ``MAX_GAP_M``). Real
speech opens the SMPL-X jaw by only a degree or two (the lips move mostly through the
expressions, which a wooden head cannot show), so the gap is a stylised, enlarged opening:
about 1 cm at a typical speaking jaw (1.2 degrees), 2.5 cm at a wide one, enough to be seen
in a 720x480 video of the upper body.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DROP_BELOW_HEAD_JOINT_M: float = 0.008  # the mouth's centre line below the head joint
HALF_WIDTH_M: float = 0.03
CLOSED_HEIGHT_M: float = 0.004  # a closed mouth is a thin dark line
GAP_M_PER_DEGREE: float = 0.008
MAX_GAP_M: float = 0.03
SURFACE_OFFSET_M: float = 0.006  # in front of the head's surface: above its facets
SURFACE_SEARCH_M: float = 0.015  # head vertices this close to a lip point (x, y) count
COLUMNS: int = 13  # points along each lip line
RGB: tuple[int, int, int] = (72, 28, 24)
FORWARD_AXIS: int = 2  # SMPL-X: the body faces +z at rest
VERTICAL_AXIS: int = 1


def mouth_openness(opening_deg: np.ndarray) -> np.ndarray:
    """Jaw opening (T,) degrees -> (T,) float64 in [0, 1]: the mouth's gap over its widest."""
    return np.clip(opening_deg * GAP_M_PER_DEGREE, 0.0, MAX_GAP_M) / MAX_GAP_M


@dataclass(frozen=True)
class Mouth:
    """Mouth geometry in the head's rest frame.

    ``upper`` and ``lower`` (C, 3): the lip lines at rest (closed), world rest coordinates;
    ``drop`` (C,): how far each lower-lip point moves down per metre of gap (an ellipse
    profile: 1 in the middle, 0 at the corners); ``faces`` (F, 3) into [upper, lower].
    """

    upper: np.ndarray
    lower: np.ndarray
    drop: np.ndarray
    faces: np.ndarray
    head_position: np.ndarray  # (3,) the head joint at rest
    head_rotation: np.ndarray  # (3, 3) its world rotation at rest

    @property
    def num_vertices(self) -> int:
        return 2 * self.upper.shape[0]

    def colors(self) -> np.ndarray:
        """(M, 4) float32 RGBA."""
        color = np.array([*RGB, 255], np.float32) / 255.0
        return np.ascontiguousarray(np.broadcast_to(color, (self.num_vertices, 4)))

    def open_offsets(self) -> np.ndarray:
        """(M, 3) float32: how far each vertex moves (in the head's rest frame) when the mouth
        is open its widest; a posed mouth is the rest lips plus :func:`mouth_openness` times
        this (the mouth as a glTF morph target)."""
        offsets = np.zeros((self.num_vertices, 3), np.float32)
        offsets[self.upper.shape[0] :, VERTICAL_AXIS] = -MAX_GAP_M * self.drop
        return offsets

    def pose(
        self, opening_deg: np.ndarray, head_rotation: np.ndarray, head_position: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Jaw opening (T,) degrees and the head's world rotation (T, 3, 3) and position
        (T, 3) -> vertices and unit normals (T, M, 3) float32."""
        gap = np.clip(opening_deg * GAP_M_PER_DEGREE, 0.0, MAX_GAP_M)  # (T,)
        lower = np.repeat(self.lower[None], gap.shape[0], axis=0)
        lower[..., VERTICAL_AXIS] -= gap[:, None] * self.drop
        upper = np.repeat(self.upper[None], gap.shape[0], axis=0)
        local = np.concatenate([upper, lower], axis=1) - self.head_position  # (T, M, 3)
        relative = head_rotation @ self.head_rotation.T  # (T, 3, 3) rotation from rest
        vertices = np.einsum("tij,tmj->tmi", relative, local) + head_position[:, None]
        forward = relative[:, :, FORWARD_AXIS]  # (T, 3) the rest +z axis, turned with the head
        normals = np.repeat(forward[:, None], self.num_vertices, axis=1)
        return vertices.astype(np.float32), normals.astype(np.float32)


def build_mouth(
    head_vertices: np.ndarray, head_position: np.ndarray, head_rotation: np.ndarray
) -> Mouth:
    """Place the mouth on the front of a head: ``head_vertices`` (N, 3) at rest (world), the
    head joint's rest position (3,) and rotation (3, 3). Raises ValueError when the head has
    no vertices in front at mouth height."""
    centre_y = head_position[VERTICAL_AXIS] - DROP_BELOW_HEAD_JOINT_M
    centre_x = head_position[0]
    xs = centre_x + np.linspace(-HALF_WIDTH_M, HALF_WIDTH_M, COLUMNS)
    profile = np.sqrt(np.clip(1.0 - ((xs - centre_x) / HALF_WIDTH_M) ** 2, 0.0, 1.0))
    near = np.abs(head_vertices[:, VERTICAL_AXIS] - centre_y) < SURFACE_SEARCH_M
    front = head_vertices[near & (head_vertices[:, FORWARD_AXIS] > head_position[FORWARD_AXIS])]
    if front.shape[0] == 0:
        raise ValueError("no head vertices in front at mouth height")

    def surface_z(x: float) -> float:  # the most forward head vertex around (x, centre_y)
        around = np.abs(front[:, 0] - x) < SURFACE_SEARCH_M
        if not around.any():
            around = np.abs(front[:, 0] - x) <= np.abs(front[:, 0] - x).min()
        return float(front[around, FORWARD_AXIS].max()) + SURFACE_OFFSET_M

    z = np.array([surface_z(x) for x in xs])
    half = CLOSED_HEIGHT_M / 2 * profile
    upper = np.stack([xs, centre_y + half, z], axis=1)
    lower = np.stack([xs, centre_y - half, z], axis=1)
    faces = []
    for i in range(COLUMNS - 1):  # counter-clockwise seen from the front (+z)
        u0, u1, l0, l1 = i, i + 1, COLUMNS + i, COLUMNS + i + 1
        faces += [(u0, l0, l1), (u0, l1, u1)]
    return Mouth(
        upper,
        lower,
        profile,
        np.asarray(faces, np.uint32),
        np.asarray(head_position, np.float64),
        np.asarray(head_rotation, np.float64),
    )
