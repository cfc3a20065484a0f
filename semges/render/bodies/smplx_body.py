"""The real SMPL-X mesh, from a model file the user downloads (it cannot be redistributed).

Posed with the ``smplx`` package (``use_pca=False``: full axis-angle hands), jaw, eyes and the
100 expression coefficients applied, every parameter expanded to the batch, in torch under
``no_grad``, a bounded number of frames at a time.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semges import layout
from semges.render.bodies.base import (
    SMPLX_BODY_JOINTS,
    BodyModel,
    PosedChunk,
    check_frame_range,
    joint_columns,
    uniform_colors,
)
from semges.render.bodies.normals import VertexNormals
from semges.skeleton import FLAT_HAND_MEAN

if TYPE_CHECKING:
    from semges.motion import MotionClip

logger = logging.getLogger(__name__)

SMPLX_MODEL_ENV: str = "SEMGES_SMPLX_MODEL"
SMPLX_DOWNLOAD_URL: str = "https://smpl-x.is.tue.mpg.de"
SMPLX_FILE_NAME: str = "SMPLX_NEUTRAL_2020.npz"
NUM_VERTICES: int = 10475
NUM_FACES: int = 20908
NUM_POSE_BLEND_SHAPES: int = (layout.NUM_JOINTS - 1) * 9  # 486: one 3x3 per non-root joint
NUM_SHAPE_COMPONENTS: int = layout.NUM_BETAS + layout.NUM_EXPRESSIONS  # 400 in the 2020 file
NUM_HAND_PARAMS: int = 45  # 15 joints x 3, per hand
POSE_BATCH_FRAMES: int = 32  # frames per smplx forward call: bounds memory
SKIN_RGB: tuple[int, int, int] = (176, 186, 204)

# Arrays smplx.SMPLX reads, with the shape SMPLX_NEUTRAL_2020.npz has (None: any length).
REQUIRED_ARRAYS: dict[str, tuple[int | None, ...]] = {
    "v_template": (NUM_VERTICES, 3),
    "f": (NUM_FACES, 3),
    "shapedirs": (NUM_VERTICES, 3, NUM_SHAPE_COMPONENTS),
    "posedirs": (NUM_VERTICES, 3, NUM_POSE_BLEND_SHAPES),
    "J_regressor": (layout.NUM_JOINTS, NUM_VERTICES),
    "weights": (NUM_VERTICES, layout.NUM_JOINTS),
    "kintree_table": (2, layout.NUM_JOINTS),
    "hands_meanl": (NUM_HAND_PARAMS,),
    "hands_meanr": (NUM_HAND_PARAMS,),
    "hands_componentsl": (NUM_HAND_PARAMS, NUM_HAND_PARAMS),
    "hands_componentsr": (NUM_HAND_PARAMS, NUM_HAND_PARAMS),
    "lmk_faces_idx": (None,),
    "lmk_bary_coords": (None, 3),
}


class SmplxModelError(ValueError):
    """The SMPL-X model file is missing or is not SMPL-X v1.1 ``SMPLX_NEUTRAL_2020.npz``."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        super().__init__(
            f"SMPL-X model file {path}: {problem}. The real SMPL-X body needs "
            f"{SMPLX_FILE_NAME} from SMPL-X v1.1 (NPZ), downloaded from {SMPLX_DOWNLOAD_URL} "
            f"(free registration, non-commercial licence); pass it with --smplx-model PATH or "
            f"{SMPLX_MODEL_ENV}=PATH. Without it the wooden mannequin is drawn."
        )


def resolve_smplx_model_path(path: str | os.PathLike | None = None) -> Path | None:
    """The SMPL-X file to use: ``path``, else ``$SEMGES_SMPLX_MODEL``, else None (mannequin)."""
    chosen = path if path not in (None, "") else os.environ.get(SMPLX_MODEL_ENV) or None
    return None if chosen is None else Path(chosen).expanduser()


def validate_smplx_model_file(path: str | os.PathLike) -> Path:
    """Check that ``path`` is an SMPL-X 2020 ``.npz`` with the arrays smplx needs.

    Raises SmplxModelError naming the problem, what to download and where from.
    """
    path = Path(path)
    if not path.is_file():
        raise SmplxModelError(path, "not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            shapes = {key: data[key].shape for key in REQUIRED_ARRAYS if key in data.files}
    except Exception as error:  # zip, pickle and format errors all mean "not this file"
        raise SmplxModelError(path, f"not a readable .npz archive ({error})") from error
    missing = sorted(set(REQUIRED_ARRAYS) - shapes.keys())
    if missing:
        raise SmplxModelError(path, f"lacks the arrays {', '.join(missing)}")
    for key, expected in REQUIRED_ARRAYS.items():
        actual = shapes[key]
        if len(actual) != len(expected) or any(
            want is not None and want != got for want, got in zip(expected, actual, strict=True)
        ):
            hint = ""
            if key == "shapedirs" and len(actual) == 3 and actual[2] < NUM_SHAPE_COMPONENTS:
                hint = (
                    f" (only {actual[2]} shape+expression components: an older SMPL-X "
                    f"release; BEAT2 motion needs 300 betas and 100 expressions)"
                )
            wanted = tuple("any" if n is None else n for n in expected)
            raise SmplxModelError(path, f"{key} has shape {actual}, expected {wanted}{hint}")
    return path


class SmplxBody(BodyModel):
    """The SMPL-X mesh (10,475 vertices) with jaw, eyes, hands and expressions."""

    name = "smplx"

    def __init__(self, model_path: str | os.PathLike) -> None:
        path = validate_smplx_model_file(model_path)
        import smplx
        import torch

        try:
            self._model = smplx.SMPLX(
                str(path),
                ext="npz",
                use_pca=False,
                flat_hand_mean=FLAT_HAND_MEAN,
                num_betas=layout.NUM_BETAS,
                num_expression_coeffs=layout.NUM_EXPRESSIONS,
                use_face_contour=False,
            ).eval()
        except Exception as error:  # smplx asserts and raises freely on odd files
            raise SmplxModelError(path, f"smplx could not build the model ({error})") from error
        for parameter in self._model.parameters():
            parameter.requires_grad_(False)
        self._torch = torch
        self.model_path = path
        self.faces = np.ascontiguousarray(self._model.faces, dtype=np.uint32)
        self.vertex_colors = uniform_colors(NUM_VERTICES, SKIN_RGB)
        self.dominant_joint = self._model.lbs_weights.argmax(dim=1).numpy().astype(np.int64)
        self._normals = VertexNormals(self.faces, NUM_VERTICES)

    def _parameters(self, clip: MotionClip, start: int, stop: int) -> dict[str, object]:
        torch = self._torch
        poses = torch.from_numpy(clip.poses[start:stop])  # (B, 165)
        batch = poses.shape[0]

        def columns(joints: tuple[int, ...]) -> object:
            return poses[:, joint_columns(joints)]

        betas = np.zeros(layout.NUM_BETAS, np.float32)
        count = min(layout.NUM_BETAS, clip.betas.shape[0])
        betas[:count] = clip.betas[:count]
        left_eye, right_eye = layout.EYES.joints
        return {
            "global_orient": columns(layout.ROOT.joints),
            "body_pose": columns(SMPLX_BODY_JOINTS),
            "jaw_pose": columns(layout.JAW.joints),
            "leye_pose": columns((left_eye,)),
            "reye_pose": columns((right_eye,)),
            "left_hand_pose": columns(layout.LEFT_HAND.joints),
            "right_hand_pose": columns(layout.RIGHT_HAND.joints),
            "betas": torch.from_numpy(betas).expand(batch, -1),
            "expression": torch.from_numpy(clip.expressions[start:stop]),
            "transl": torch.from_numpy(clip.trans[start:stop]),
        }

    def _vertices(self, clip: MotionClip, start: int, stop: int) -> np.ndarray:
        """(T, V, 3) float32 posed vertices, POSE_BATCH_FRAMES frames per smplx call."""
        check_frame_range(clip, start, stop)
        parts = []
        with self._torch.no_grad():
            for first in range(start, stop, POSE_BATCH_FRAMES):
                last = min(stop, first + POSE_BATCH_FRAMES)
                output = self._model(**self._parameters(clip, first, last), return_verts=True)
                parts.append(output.vertices.numpy())
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def joint_positions(self, clip: MotionClip, start: int, stop: int) -> np.ndarray:
        """(T, 55, 3) world SMPL-X joint positions (m): smplx's kinematics of the model
        file's own skeleton (its ``J_regressor`` applied to the mesh shaped by the clip's
        betas), hands per ``semges.skeleton.FLAT_HAND_MEAN``."""
        check_frame_range(clip, start, stop)
        parts = []
        with self._torch.no_grad():
            for first in range(start, stop, POSE_BATCH_FRAMES):
                last = min(stop, first + POSE_BATCH_FRAMES)
                output = self._model(**self._parameters(clip, first, last))
                parts.append(output.joints[:, : layout.NUM_JOINTS].numpy())
        return np.concatenate(parts).astype(np.float64)

    def positions(
        self, clip: MotionClip, start: int, stop: int, vertex_ids: np.ndarray
    ) -> np.ndarray:
        return self._vertices(clip, start, stop)[:, vertex_ids]  # no normals needed

    def pose(self, clip: MotionClip, start: int, stop: int) -> PosedChunk:
        vertices = self._vertices(clip, start, stop)
        return PosedChunk(vertices, self._normals(vertices))
