"""The renderers the demo serves with: one per body, built once, used under a lock.

An offscreen OpenGL context belongs to the thread-safe world of one caller at a time, so each
body's renderer is guarded by a lock; requests for different bodies render in parallel.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Callable

from semges.motion import MotionClip

logger = logging.getLogger(__name__)

BODY_MANNEQUIN = "mannequin"
BODY_SMPLX = "smplx"
VIEWS: tuple[str, ...] = ("upper", "full")

StageCallback = Callable[[str, float], None]


class Renderers:
    """Video renderers by body name, and the BVH exporter."""

    def __init__(self, renderers: dict[str, object]) -> None:
        self._renderers = renderers
        self._locks = {body: threading.Lock() for body in renderers}

    @classmethod
    def load(cls, smplx_model: Path | None = None) -> "Renderers":
        """The mannequin always; SMPL-X too when a model file is configured.

        Raises ValueError (``render.bodies.SmplxModelError``) for an unusable SMPL-X file.
        """
        from render import VideoRenderer
        from render.bodies import MANNEQUIN, load_body

        renderers: dict[str, object] = {BODY_MANNEQUIN: VideoRenderer(body=load_body(MANNEQUIN))}
        if smplx_model is not None:
            renderers[BODY_SMPLX] = VideoRenderer(body=load_body(Path(smplx_model)))
        return cls(renderers)

    @property
    def bodies(self) -> tuple[str, ...]:
        return tuple(self._renderers)

    def why_unavailable(self, body: str) -> str:
        if body == BODY_SMPLX:
            return ("The SMPL-X body needs an SMPL-X model file (SEMGES_SMPLX_MODEL) on the "
                    "server; use the mannequin.")
        return f"body must be one of {', '.join(self.bodies)}"

    def render(
        self,
        motion: MotionClip,
        out_path: Path,
        audio_path: str | os.PathLike | None,
        size: tuple[int, int],
        view: str,
        body: str,
        progress: StageCallback | None = None,
    ) -> Path:
        """Render ``motion`` to an mp4 at ``out_path`` with the speech muxed in."""
        renderer = self._renderers[body]
        with self._locks[body]:
            return Path(renderer.render_video(motion, out_path, audio_path=audio_path, size=size,
                                              view=view, progress=progress))

    def write_bvh(self, motion: MotionClip, path: Path) -> Path:
        from render import write_bvh

        write_bvh(motion, path)
        return path
