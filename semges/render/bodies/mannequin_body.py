"""The default body: the ``mannequin-x`` wooden figure driven by SMPL-X body and hand rotations.

No licensed file is needed: the package ships the figure and a small calibration table that
reproduces the SMPL-X neutral skeleton for the first ten shape coefficients. The figure has no
jaw, eyes or face; :meth:`MannequinBody.with_face` (what the video renderer draws) adds a
simple mouth on the head that opens with the SMPL-X jaw (``semges/render/bodies/mouth.py``), so the
figure is seen to speak. The plain body (glTF export) is the package's figure alone.

Posing uses the package's own forward kinematics (``Mannequin.joint_transforms``) and replaces
its per-vertex skinning (about 60 ms a frame) with one sparse product per chunk of frames
(well under 1 ms a frame): linear blend skinning written as

    v'(t) = K @ A(t),  K[v, 4j + c] = w_vj * [s_v, 1]_c,  A(t)[4j + c, i] = [R_j | t_j - R_j b_j]_ic

with ``s_v`` the bind-pose vertex, ``b_j`` the bind position of joint j and ``w_vj`` the skin
weights; normals are the bind-pose normals skinned with the same weights (exact on rigid parts,
the usual approximation where two bones blend). The weights come from the package's internals;
if a future ``mannequin-x`` moves them, the body falls back to the package's own (slow) skinning.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse
from scipy.spatial import ConvexHull, QhullError

from semges import layout, skeleton
from semges.face_statistics import mouth_opening_degrees
from semges.render.bodies.base import (
    SMPLX_BODY_JOINTS,
    BodyModel,
    PosedChunk,
    check_frame_range,
    joint_columns,
)
from semges.render.bodies.mouth import Mouth, build_mouth
from semges.render.bodies.normals import VertexNormals
from semges.skeleton import FLAT_HAND_MEAN, relaxed_hand_mean

if TYPE_CHECKING:
    from semges.motion import MotionClip

logger = logging.getLogger(__name__)

MANNEQUIN_KIND: str = "wooden"
PALETTE: str = "wood"
NUM_SHAPE_COEFFICIENTS: int = 10  # the figure follows the first ten SMPL-X betas
_HOMOGENEOUS: int = 4
_JOINT_PART_PREFIX: str = "joint_"  # skin parts drawn in the palette's joint colour
_RIGID_TOLERANCE: float = 1e-6  # a skin weight this close to 1 binds a vertex rigidly
_MIN_HULL_POINTS: int = 8

_BODY_COLUMNS: list[int] = joint_columns(SMPLX_BODY_JOINTS)
_HAND_COLUMNS: list[int] = joint_columns(layout.HANDS.joints)
_ROOT_COLUMNS: list[int] = joint_columns(layout.ROOT.joints)
_HEAD: int = layout.JOINT_NAMES.index("head")
_HEAD_ATTACHED: tuple[int, ...] = layout.JAW.joints + layout.EYES.joints  # not in the figure

__all__ = [
    "FLAT_HAND_MEAN",
    "MannequinBody",
    "mannequin_pose_parameters",
    "relaxed_hand_mean",
    "smplx_joint_of",
]


def smplx_joint_of(mannequin_joint_names: tuple[str, ...], parents: tuple[int, ...]) -> np.ndarray:
    """(J,) SMPL-X joint index of each mannequin joint, by name ("L_Index1" -> left_index1).

    Mannequin joints without an SMPL-X counterpart (its "L_Hand" / "R_Hand" palm ends) take
    their parent's index.
    """
    indices: list[int] = []
    for name, parent in zip(mannequin_joint_names, parents, strict=True):
        smplx_name = name.replace("L_", "left_").replace("R_", "right_").lower()
        if smplx_name in layout.JOINT_NAMES:
            indices.append(layout.JOINT_NAMES.index(smplx_name))
        else:
            indices.append(indices[parent])
    return np.asarray(indices, np.int64)


def mannequin_pose_parameters(clip: MotionClip, start: int, stop: int) -> dict[str, np.ndarray]:
    """Frames ``start:stop`` of an SMPL-X clip as ``Mannequin`` pose parameters.

    The SMPL-X root orientation rotates about the pelvis, which is the figure's
    ``pelvis_rotation`` (its ``global_rotation`` turns about the origin instead).
    """
    poses = clip.poses[start:stop]
    num_frames = poses.shape[0]
    return {
        "pelvis_rotation": poses[:, _ROOT_COLUMNS],
        "body_pose": poses[:, _BODY_COLUMNS].reshape(num_frames, len(SMPLX_BODY_JOINTS), 3),
        "hand_pose": poses[:, _HAND_COLUMNS].reshape(num_frames, layout.HANDS.num_joints, 3),
        "head_pose": np.zeros((num_frames, 3, 3), np.float32),
        "global_translation": clip.trans[start:stop],
    }


class _LinearBlendSkin:
    """Sparse linear blend skinning matrices for one body shape."""

    def __init__(self, model: object, faces: np.ndarray) -> None:
        identity = model._identity
        bind_vertices = np.asarray(identity["skin_vertices"], np.float64)  # (V, 3)
        self.bind_positions = np.asarray(identity["skin_bind_positions"], np.float64)  # (J, 3)
        joints = np.asarray(model._skin_joint_indices)
        weights = np.asarray(model._skin_weights, np.float64)
        num_vertices, influences = joints.shape
        self.num_joints = self.bind_positions.shape[0]
        self.num_vertices = num_vertices
        self.dominant = joints[np.arange(num_vertices), np.argmax(weights, axis=1)]
        self.positions_weights_max = weights.max(axis=1)
        self.bind_vertices = bind_vertices

        homogeneous = np.concatenate([bind_vertices, np.ones((num_vertices, 1))], axis=1)
        rows = np.repeat(np.arange(num_vertices), influences * _HOMOGENEOUS)
        cols = (joints[:, :, None] * _HOMOGENEOUS + np.arange(_HOMOGENEOUS)).reshape(-1)
        vals = (weights[:, :, None] * homogeneous[:, None, :]).reshape(-1)
        self.positions = scipy.sparse.csr_matrix(
            (vals, (rows, cols)), shape=(num_vertices, self.num_joints * _HOMOGENEOUS)
        ).astype(np.float32)

        bind_normals = VertexNormals(faces, num_vertices)(bind_vertices)
        rows = np.repeat(np.arange(num_vertices), influences * 3)
        cols = (joints[:, :, None] * 3 + np.arange(3)).reshape(-1)
        vals = (weights[:, :, None] * bind_normals[:, None, :]).reshape(-1)
        self.normals = scipy.sparse.csr_matrix(
            (vals, (rows, cols)), shape=(num_vertices, self.num_joints * 3)
        ).astype(np.float32)

    def framing_subset(self, candidates: np.ndarray, bind_vertices: np.ndarray) -> np.ndarray:
        """The candidates that can be extreme in some direction, for any pose.

        A vertex bound rigidly to one joint moves with that joint, so among the rigid vertices
        of a joint only the corners of their convex hull (in the bind pose) can ever be extreme;
        blended vertices are all kept. The bounding box of the result equals the candidates'.
        """
        weights = self.positions_weights_max[candidates]
        rigid = weights >= 1.0 - _RIGID_TOLERANCE
        keep = [candidates[~rigid]]
        owners = self.dominant[candidates]
        for joint in np.unique(owners[rigid]):
            members = candidates[rigid & (owners == joint)]
            if members.size < _MIN_HULL_POINTS:
                keep.append(members)
                continue
            try:
                keep.append(members[ConvexHull(bind_vertices[members]).vertices])
            except QhullError:  # flat or degenerate part: keep it whole
                keep.append(members)
        return np.sort(np.concatenate(keep))

    def positions_only(self, transforms: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(T, J, 4, 4) joint transforms -> (T, S, 3) positions of vertices ``rows``."""
        num_frames = transforms.shape[0]
        stacked = self._affine_stack(transforms)
        vertices = np.asarray(self.positions[rows] @ stacked)
        return vertices.reshape(rows.size, num_frames, 3).transpose(1, 0, 2)

    def _affine_stack(self, transforms: np.ndarray) -> np.ndarray:
        """(T, J, 4, 4) -> (J * 4, 3 * T) float32: row 4j + c, column 3t + i = A[t, j, i, c]."""
        num_frames = transforms.shape[0]
        rotations = transforms[..., :3, :3]
        translations = transforms[..., :3, 3] - np.einsum(
            "tjik,jk->tji", rotations, self.bind_positions
        )
        affine = np.concatenate([rotations, translations[..., None]], axis=-1)  # (T, J, 3, 4)
        return (
            affine.transpose(1, 3, 0, 2)
            .reshape(self.num_joints * _HOMOGENEOUS, num_frames * 3)
            .astype(np.float32)
        )

    def __call__(self, transforms: np.ndarray) -> PosedChunk:
        """(T, J, 4, 4) world joint transforms -> posed vertices and normals."""
        num_frames = transforms.shape[0]
        rotations = transforms[..., :3, :3]  # (T, J, 3, 3)
        vertices = np.asarray(self.positions @ self._affine_stack(transforms))
        vertices = vertices.reshape(self.num_vertices, num_frames, 3).transpose(1, 0, 2)
        rot_stacked = rotations.transpose(1, 3, 0, 2).reshape(self.num_joints * 3, num_frames * 3)
        normals = np.asarray(self.normals @ rot_stacked.astype(np.float32))
        normals = normals.reshape(self.num_vertices, num_frames, 3).transpose(1, 0, 2)
        normals /= np.linalg.norm(normals, axis=-1, keepdims=True) + 1e-12
        return PosedChunk(
            np.ascontiguousarray(vertices, np.float32), np.ascontiguousarray(normals, np.float32)
        )


class MannequinBody(BodyModel):
    """The wooden mannequin (24k vertices), shaped by the clip's first ten betas.

    With ``mouth`` (see :meth:`with_face`), a small mouth mesh follows the figure's vertices:
    ``faces``, ``vertex_colors``, ``dominant_joint`` and posed chunks include it.
    """

    name = "mannequin"

    def __init__(self, mouth: bool = False) -> None:
        from mannequin import PALETTES, Mannequin

        self._model = Mannequin(MANNEQUIN_KIND, flat_hand_mean=FLAT_HAND_MEAN)
        self._figure_faces = np.ascontiguousarray(self._model.faces, dtype=np.uint32)
        self._smplx_joint = smplx_joint_of(self._model.joint_names, self._model.parents)
        self._shape = np.zeros(NUM_SHAPE_COEFFICIENTS, np.float32)
        self._skin: _LinearBlendSkin | None = None
        self._normals: VertexNormals | None = None
        self._figure_colors = self._palette_colors(PALETTES[PALETTE])
        self._wants_mouth = mouth
        self._with_face: MannequinBody | None = None
        self._bind()

    @property
    def mouth(self) -> Mouth | None:
        """The mouth drawn on the head; None without one (or when the head could not be
        found: a ``mannequin-x`` whose internals moved)."""
        return self._mouth

    def with_face(self) -> MannequinBody:
        """This figure with a mouth that opens with the jaw (built once, then reused)."""
        if self._wants_mouth:
            return self
        if self._with_face is None:
            self._with_face = MannequinBody(mouth=True)
        return self._with_face

    @property
    def fast_skinning(self) -> bool:
        """False when this ``mannequin-x`` version forced the slow fallback."""
        return self._skin is not None

    @property
    def model(self) -> object:
        """The underlying ``mannequin.Mannequin``."""
        return self._model

    def _bind(self) -> None:
        try:
            self._skin = _LinearBlendSkin(self._model, self._figure_faces)
            dominant = self._skin.dominant
        except (AttributeError, KeyError, TypeError) as error:
            logger.warning("mannequin-x internals changed (%s); using its slower skinning", error)
            self._skin = None
            self._normals = VertexNormals(self._figure_faces, self._model.num_vertices)
            dominant = np.zeros(self._model.num_vertices, np.int64)
        figure_joints = self._smplx_joint[dominant]
        self._mouth = self._build_mouth(figure_joints) if self._wants_mouth else None
        if self._mouth is None:
            self.faces, self.vertex_colors = self._figure_faces, self._figure_colors
            self.dominant_joint = figure_joints
            return
        count = self._model.num_vertices
        self.faces = np.ascontiguousarray(
            np.concatenate([self._figure_faces, self._mouth.faces + count]), np.uint32
        )
        self.vertex_colors = np.ascontiguousarray(
            np.concatenate([self._figure_colors, self._mouth.colors()]), np.float32
        )
        self.dominant_joint = np.concatenate(
            [figure_joints, np.full(self._mouth.num_vertices, _HEAD, np.int64)]
        )

    def _head_transform(self, transforms: np.ndarray) -> np.ndarray:
        """(T, J, 4, 4) figure joint transforms -> (T, 4, 4) of the head."""
        return transforms[:, int(np.flatnonzero(self._smplx_joint == _HEAD)[0])]

    def _build_mouth(self, figure_joints: np.ndarray) -> Mouth | None:
        rest = self._model.rest_pose()
        head = self._head_transform(np.asarray(self._model.joint_transforms(rest))[None])[0]
        vertices = np.asarray(self._model.vertices(rest), np.float64)
        try:
            return build_mouth(vertices[figure_joints == _HEAD], head[:3, 3], head[:3, :3])
        except ValueError as error:
            logger.warning("no mouth on the mannequin (%s): it speaks without one", error)
            return None

    def _with_mouth(
        self, chunk: PosedChunk, clip: MotionClip, start: int, stop: int, transforms: np.ndarray
    ) -> PosedChunk:
        """The figure's posed chunk with the mouth's vertices appended."""
        if self._mouth is None:
            return chunk
        head = self._head_transform(transforms)
        vertices, normals = self._mouth.pose(
            mouth_opening_degrees(clip.poses[start:stop]), head[:, :3, :3], head[:, :3, 3]
        )
        return PosedChunk(
            np.ascontiguousarray(np.concatenate([chunk.vertices, vertices], 1)),
            np.ascontiguousarray(np.concatenate([chunk.normals, normals], 1)),
        )

    def _palette_colors(
        self, palette: tuple[tuple[int, int, int], tuple[int, int, int]]
    ) -> np.ndarray:
        body_rgb, joint_rgb = palette
        colors = np.empty((self._model.num_vertices, 4), np.float32)
        colors[:] = [*np.asarray(body_rgb) / 255.0, 1.0]
        weights = self._model._weights
        names = getattr(weights, "skin_part_names", None) or []
        starts = getattr(weights, "skin_part_vertex_starts", None) or []
        counts = getattr(weights, "skin_part_vertex_counts", None) or []
        for name, first, count in zip(names, starts, counts, strict=True):
            if name.startswith(_JOINT_PART_PREFIX):
                colors[first : first + count, :3] = np.asarray(joint_rgb) / 255.0
        return colors

    def set_shape(self, betas: np.ndarray) -> None:
        """Reshape the figure to SMPL-X ``betas`` (only the first ten are used)."""
        shape = np.zeros(NUM_SHAPE_COEFFICIENTS, np.float32)
        count = min(NUM_SHAPE_COEFFICIENTS, betas.shape[0])
        shape[:count] = betas[:count]
        if np.array_equal(shape, self._shape):
            return
        self._model.reshape(shape)
        self._shape = shape
        self._bind()

    def joint_transforms(self, clip: MotionClip, start: int, stop: int) -> np.ndarray:
        """(T, J, 4, 4) world transforms of the figure's joints (its own joint order)."""
        check_frame_range(clip, start, stop)
        self.set_shape(clip.betas)
        parameters = mannequin_pose_parameters(clip, start, stop)
        return np.asarray(self._model.joint_transforms(parameters))

    def joint_positions(self, clip: MotionClip, start: int, stop: int) -> np.ndarray:
        """(T, 55, 3) world SMPL-X joint positions (m) of frames ``start:stop``.

        The figure's joints, plus jaw and eyes (which it lacks) carried rigidly by its head at
        their ``semges.skeleton`` rest offsets, as SMPL-X kinematics carries them.
        """
        transforms = self.joint_transforms(clip, start, stop)
        joints = np.zeros((stop - start, layout.NUM_JOINTS, 3))
        own = [
            i
            for i, joint in enumerate(self._smplx_joint)
            if i == 0 or joint != self._smplx_joint[self._model.parents[i]]
        ]
        joints[:, self._smplx_joint[own]] = transforms[:, own][..., :3, 3]
        head = self._head_transform(transforms)
        rest = skeleton.rest_joint_positions(clip.betas)
        offsets = rest[list(_HEAD_ATTACHED)] - rest[_HEAD]  # (3, 3)
        joints[:, list(_HEAD_ATTACHED)] = head[:, None, :3, 3] + np.einsum(
            "tij,kj->tki", head[:, :3, :3], offsets
        )
        return joints

    def framing_vertices(self, upper_body_only: bool) -> np.ndarray:
        # the figure's own vertices: the mouth lies on the head, inside its bounds
        candidates = super().framing_vertices(upper_body_only)
        candidates = candidates[candidates < self._model.num_vertices]
        if self._skin is None:
            return candidates
        return self._skin.framing_subset(candidates, self._skin.bind_vertices)

    def positions(
        self, clip: MotionClip, start: int, stop: int, vertex_ids: np.ndarray
    ) -> np.ndarray:
        if self._skin is None or vertex_ids.max(initial=0) >= self._model.num_vertices:
            return super().positions(clip, start, stop, vertex_ids)
        return self._skin.positions_only(self.joint_transforms(clip, start, stop), vertex_ids)

    def pose(self, clip: MotionClip, start: int, stop: int) -> PosedChunk:
        transforms = self.joint_transforms(clip, start, stop)
        if self._skin is not None:
            return self._with_mouth(self._skin(transforms), clip, start, stop, transforms)
        vertices = np.asarray(
            self._model.vertices(mannequin_pose_parameters(clip, start, stop)), np.float32
        )
        assert self._normals is not None
        chunk = PosedChunk(np.ascontiguousarray(vertices), self._normals(vertices))
        return self._with_mouth(chunk, clip, start, stop, transforms)
