"""What every body model gives the renderer: a fixed triangle mesh posed frame by frame.

A body turns SMPL-X motion (``MotionClip``: axis-angle ``poses`` (T, 165), ``trans`` (T, 3),
``betas``, ``expressions``) into world-space vertices in metres, SMPL-X coordinates (y up,
the body faces +z at rest). Frames are posed in chunks, so long clips need bounded memory.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from semges import layout

if TYPE_CHECKING:
    from semges.motion import MotionClip

RGBA_CHANNELS: int = 4

SMPLX_BODY_JOINTS: tuple[int, ...] = tuple(range(layout.ROOT.joints[0] + 1, layout.JAW.joints[0]))
"""SMPL-X joints 1..21 (hips to wrists): smplx's ``body_pose``, between the root and the jaw."""


def joint_columns(joints: tuple[int, ...]) -> list[int]:
    """Columns of the (T, 165) axis-angle ``poses`` array that hold ``joints``, as a list for
    numpy fancy indexing."""
    return list(layout.pose_columns(joints))


@dataclass(frozen=True)
class PosedChunk:
    """Consecutive posed frames of one body (float32, contiguous)."""

    vertices: np.ndarray  # (T, V, 3) metres, world coordinates
    normals: np.ndarray  # (T, V, 3) unit vertex normals

    @property
    def num_frames(self) -> int:
        return self.vertices.shape[0]


class BodyModel(ABC):
    """A triangle mesh whose vertices follow SMPL-X motion.

    Subclasses set ``name``, ``faces`` (F, 3) uint32, ``vertex_colors`` (V, 4) float32 RGBA in
    [0, 1] and ``dominant_joint`` (V,) int: the SMPL-X joint (``semges.layout`` numbering) that
    moves each vertex most, used to frame views on body parts.
    """

    name: str
    faces: np.ndarray
    vertex_colors: np.ndarray
    dominant_joint: np.ndarray

    @property
    def num_vertices(self) -> int:
        return int(self.vertex_colors.shape[0])

    @abstractmethod
    def pose(self, clip: MotionClip, start: int, stop: int) -> PosedChunk:
        """Vertices and normals of frames ``start:stop`` of ``clip``."""

    @abstractmethod
    def joint_positions(self, clip: MotionClip, start: int, stop: int) -> np.ndarray:
        """(T, 55, 3) float64 world positions (m) of the SMPL-X joints in frames
        ``start:stop``, ``semges.layout`` order, as this body poses its skeleton."""

    def with_face(self) -> BodyModel:
        """The body as a video shows it: with a face that moves with the jaw and the
        expressions. The default (a body whose mesh already has one, like SMPL-X) is itself;
        a figure without a face returns a variant with a simple mouth."""
        return self

    def framing_vertices(self, upper_body_only: bool) -> np.ndarray:
        """(S,) indices of the vertices whose bounds frame a view (all of the part by default).

        A body may return fewer, as long as their bounding box over any pose is the part's.
        """
        mask = self.upper_body_mask() if upper_body_only else np.ones(self.num_vertices, bool)
        return np.flatnonzero(mask)

    def positions(
        self, clip: MotionClip, start: int, stop: int, vertex_ids: np.ndarray
    ) -> np.ndarray:
        """(T, S, 3) world positions of the vertices ``vertex_ids`` in frames ``start:stop``."""
        return self.pose(clip, start, stop).vertices[:, vertex_ids]

    def upper_body_mask(self) -> np.ndarray:
        """(V,) bool: vertices that an upper-body view must keep in frame.

        Everything not driven mainly by a hip, knee, ankle or foot joint: pelvis, torso, head,
        arms and hands (hands stay in frame even when they hang below the hips).
        """
        return ~np.isin(self.dominant_joint, layout.LOWER_BODY.joints)


def uniform_colors(num_vertices: int, rgb: tuple[int, int, int]) -> np.ndarray:
    """(V, 4) float32 RGBA for one 8-bit colour, opaque."""
    color = np.array([*rgb, 255], np.float32) / 255.0
    return np.ascontiguousarray(np.broadcast_to(color, (num_vertices, RGBA_CHANNELS)))


def check_frame_range(clip: MotionClip, start: int, stop: int) -> None:
    """Raise ValueError unless ``0 <= start < stop <= clip.num_frames``."""
    if not 0 <= start < stop <= clip.num_frames:
        raise ValueError(f"frame range {start}:{stop} outside a clip of {clip.num_frames} frames")
