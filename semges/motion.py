"""SMPL-X motion clips in the BEAT2 / EMAGE ``.npz`` layout, and their mirror images.

A BEAT2 file holds ``poses`` (T, 165) axis-angle, ``trans`` (T, 3), ``betas`` (300,),
``expressions`` (T, 100), ``model='smplx2020'``, ``gender='neutral'`` and
``mocap_frame_rate=30``, all float32. Files written here load in the tools that read BEAT2.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semges import layout
from semges.atomic_files import atomic_output

if TYPE_CHECKING:
    import torch

ROTATION_CHUNK_FRAMES: int = 4096
"""Frames converted between rotation representations at once (bounds the temporaries)."""


class MotionFileError(ValueError):
    """A motion file is missing, unreadable or not in the BEAT2 SMPL-X layout."""


@dataclass
class MotionClip:
    """One SMPL-X motion sequence at ``fps`` frames per second (float32 numpy arrays)."""

    poses: np.ndarray  # (T, 165) axis-angle, radians
    trans: np.ndarray  # (T, 3) metres
    betas: np.ndarray = field(default_factory=lambda: np.zeros(layout.NUM_BETAS, np.float32))
    expressions: np.ndarray | None = None  # (T, 100); zeros when None
    fps: int = layout.FPS

    def __post_init__(self) -> None:
        self.poses = np.asarray(self.poses, dtype=np.float32)
        self.trans = np.asarray(self.trans, dtype=np.float32)
        self.betas = np.asarray(self.betas, dtype=np.float32)
        num_frames = self.poses.shape[0]
        if self.expressions is None:
            self.expressions = np.zeros((num_frames, layout.NUM_EXPRESSIONS), np.float32)
        self.expressions = np.asarray(self.expressions, dtype=np.float32)
        if self.poses.ndim != 2 or self.poses.shape[1] != layout.POSE_DIM:
            raise MotionFileError(f"poses must be (T, {layout.POSE_DIM}), got {self.poses.shape}")
        if self.trans.shape != (num_frames, layout.TRANSLATION_DIM):
            raise MotionFileError(f"trans must be ({num_frames}, 3), got {self.trans.shape}")
        if self.expressions.shape != (num_frames, layout.NUM_EXPRESSIONS):
            raise MotionFileError(
                f"expressions must be ({num_frames}, {layout.NUM_EXPRESSIONS}), "
                f"got {self.expressions.shape}"
            )
        if self.betas.ndim != 1:
            raise MotionFileError(f"betas must be one-dimensional, got {self.betas.shape}")

    @property
    def num_frames(self) -> int:
        return self.poses.shape[0]

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps

    @classmethod
    def rest(cls, num_frames: int) -> MotionClip:
        """A clip of ``num_frames`` frames with every joint at rest and no translation."""
        return cls(
            poses=np.zeros((num_frames, layout.POSE_DIM), np.float32),
            trans=np.zeros((num_frames, layout.TRANSLATION_DIM), np.float32),
        )

    @classmethod
    def concatenate(cls, clips: list[MotionClip]) -> MotionClip:
        """One clip of ``clips`` one after another (the first clip's betas and rate)."""
        if not clips:
            raise ValueError("concatenate needs at least one clip")
        return cls(
            poses=np.concatenate([c.poses for c in clips]),
            trans=np.concatenate([c.trans for c in clips]),
            betas=clips[0].betas,
            expressions=np.concatenate([c.expressions for c in clips]),
            fps=clips[0].fps,
        )

    def frames(self, first: int, last: int) -> MotionClip:
        """The clip's frames [first, last)."""
        return dataclasses.replace(
            self,
            poses=self.poses[first:last],
            trans=self.trans[first:last],
            expressions=self.expressions[first:last],
        )

    def part_rot6d(self, part: layout.JointGroup) -> torch.Tensor:
        """(T, J * 6) 6D rotations of one joint group."""
        import torch  # imported here: reading and writing clips (the renderer) needs no torch

        from semges.rotations import flat_axis_angle_to_rot6d

        columns = list(part.pose_columns)
        return flat_axis_angle_to_rot6d(torch.from_numpy(self.poses[:, columns]))

    def with_part_rot6d(self, part: layout.JointGroup, rot6d: torch.Tensor) -> MotionClip:
        """A copy with one joint group's rotations replaced by (T, J * 6) 6D rotations."""
        from semges.rotations import flat_rot6d_to_axis_angle

        poses = self.poses.copy()
        columns = list(part.pose_columns)
        for start in range(0, self.num_frames, ROTATION_CHUNK_FRAMES):
            chunk = rot6d[start : start + ROTATION_CHUNK_FRAMES].float()
            poses[start : start + chunk.shape[0], columns] = (
                flat_rot6d_to_axis_angle(chunk).cpu().numpy()
            )
        return MotionClip(
            poses, self.trans.copy(), self.betas.copy(), self.expressions.copy(), self.fps
        )

    def mirrored(self) -> MotionClip:
        """The left/right mirror image: swap left and right joints, reflect every rotation.

        Reflection across the sagittal plane is M R M with M = diag(-1, 1, 1); it is an
        involution, so ``clip.mirrored().mirrored()`` equals ``clip``. Expressions are kept.
        """
        joints = self.poses.reshape(self.num_frames, layout.NUM_JOINTS, layout.AXIS_ANGLE_DIM)
        signs = np.asarray(layout.MIRROR_AXIS_ANGLE_SIGNS, np.float32)
        mirrored = joints[:, list(layout.MIRROR_JOINT_PERMUTATION)] * signs
        trans = self.trans * np.asarray(layout.MIRROR_TRANSLATION_SIGNS, np.float32)
        return MotionClip(
            mirrored.reshape(self.num_frames, layout.POSE_DIM),
            trans,
            self.betas.copy(),
            self.expressions.copy(),
            self.fps,
        )


def load_motion(path: str | os.PathLike) -> MotionClip:
    """Read a BEAT2 SMPL-X ``.npz``. Raises MotionFileError with a readable message."""
    path = Path(path)
    if not path.is_file():
        raise MotionFileError(f"motion file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except Exception as error:  # numpy raises several types for corrupt archives
        raise MotionFileError(f"{path} is not a readable .npz file ({error})") from error
    missing = {"poses", "trans"} - arrays.keys()
    if missing:
        raise MotionFileError(f"{path} lacks {sorted(missing)}: not a BEAT2 SMPL-X motion file")
    fps = int(arrays.get("mocap_frame_rate", layout.FPS))
    if fps != layout.FPS:
        raise MotionFileError(f"{path} is at {fps} fps; semges works at {layout.FPS} fps")
    betas = arrays.get("betas", np.zeros(layout.NUM_BETAS, np.float32))
    return MotionClip(arrays["poses"], arrays["trans"], betas, arrays.get("expressions"), fps)


def save_motion(clip: MotionClip, path: str | os.PathLike) -> Path:
    """Write a clip as a BEAT2 ``.npz``, atomically (a temporary file renamed into place)."""
    path = Path(path)
    with atomic_output(path) as partial, open(partial, "wb") as handle:
        np.savez(
            handle,
            poses=clip.poses,
            trans=clip.trans,
            betas=clip.betas,
            expressions=clip.expressions,
            model=np.array(layout.SMPLX_MODEL_NAME),
            gender=np.array(layout.SMPLX_GENDER),
            mocap_frame_rate=np.array(clip.fps),
        )
    return path
