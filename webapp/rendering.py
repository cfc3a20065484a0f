"""The renderers the demo serves with: bodies loaded once, one GL renderer per picture size,
and the motion exports (BVH, glTF), every file written by :func:`semges.export.export`.

A ``semges.render.VideoRenderer`` owns one offscreen GL context at a fixed size and renders one
clip at a time; the page offers a few sizes, so renderers are kept per (body, size), built on first
use (the default size at start-up) and capped in number. A body's mesh and pose state are
shared by its renderers, so each body renders one clip at a time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

from semges.export import ExportOptions, export
from semges.motion import MotionClip
from semges.progress import Stage, StageCallback, ignore_progress

logger = logging.getLogger(__name__)

BODY_MANNEQUIN = "mannequin"
BODY_SMPLX = "smplx"
MAX_RENDERERS_PER_BODY = 4  # GL contexts kept alive per body; the least recently used goes


class Renderers:
    """Video renderers by body name and picture size, and the BVH and glTF exporters."""

    def __init__(self, bodies: dict[str, object], warm_size: tuple[int, int] | None = None) -> None:
        self._bodies = bodies  # name -> semges.render.bodies.BodyModel
        self._locks = {name: threading.Lock() for name in bodies}
        self._renderers: dict[str, OrderedDict[tuple[int, int], object]] = {
            name: OrderedDict() for name in bodies
        }
        if warm_size is not None:
            for name in bodies:
                with self._locks[name]:
                    self._renderer(name, warm_size)

    @classmethod
    def load(
        cls, smplx_model: Path | None = None, warm_size: tuple[int, int] | None = None
    ) -> Renderers:
        """The mannequin always; the SMPL-X body too when a model file is given.

        Raises ValueError (``semges.render.bodies.SmplxModelError``) for an unusable SMPL-X file.
        """
        from semges.render.bodies import MANNEQUIN, load_body

        bodies = {BODY_MANNEQUIN: load_body(MANNEQUIN)}
        if smplx_model is not None:
            bodies[BODY_SMPLX] = load_body(Path(smplx_model))
        return cls(bodies, warm_size)

    @property
    def bodies(self) -> tuple[str, ...]:
        return tuple(self._bodies)

    def why_unavailable(self, body: str) -> str:
        if body == BODY_SMPLX:
            return (
                "The SMPL-X body needs an SMPL-X model file (SEMGES_SMPLX_MODEL) on the "
                "server; please use the mannequin."
            )
        return f"body must be one of {', '.join(self.bodies)}"

    def _renderer(self, body: str, size: tuple[int, int]) -> object:
        """The renderer for (body, size); call with the body's lock held."""
        from semges.render import VideoRenderer

        cache = self._renderers[body]
        if size in cache:
            cache.move_to_end(size)
            return cache[size]
        if len(cache) >= MAX_RENDERERS_PER_BODY:
            _, oldest = cache.popitem(last=False)
            oldest.close()
        logger.info("new %s renderer at %dx%d", body, *size)
        cache[size] = VideoRenderer(body=self._bodies[body], size=size)
        return cache[size]

    def render(
        self,
        motion: MotionClip,
        out_path: Path,
        audio_path: str | os.PathLike | None,
        size: tuple[int, int],
        view: str,
        body: str,
        progress: StageCallback = ignore_progress,
    ) -> Path:
        """Render ``motion`` to an H.264 mp4 at ``out_path`` with the speech muxed in."""

        def frames_done(done: int, total: int) -> None:
            progress(Stage.RENDERING, done / total)

        with self._locks[body]:
            renderer = self._renderer(body, size)
            progress(Stage.RENDERING, 0.0)
            path = export(
                motion,
                "mp4",
                out_path,
                ExportOptions(
                    speech=None if audio_path is None else Path(audio_path),
                    renderer=renderer,
                    view=view,
                    progress=frames_done,
                ),
            )
        progress(Stage.ENCODING, 1.0)  # ffmpeg encodes while frames are drawn; done when we return
        return Path(path)

    def write_bvh(self, motion: MotionClip, path: Path) -> Path:
        return export(motion, "bvh", path)

    def write_glb(
        self, motion: MotionClip, path: Path, body: str, max_faces: int | None = None
    ) -> Path:
        """The motion on ``body`` as binary glTF (the mesh as the video draws it, or simplified
        to at most ``max_faces`` triangles).

        Reads only the body's mesh, never its pose state, so it needs no lock: a request's
        file is written while another request's video renders.
        """
        options = ExportOptions(body=self._bodies[body], max_faces=max_faces)
        return export(motion, "glb", path, options)

    def close(self) -> None:
        """Free every GL context."""
        for cache in self._renderers.values():
            while cache:
                cache.popitem()[1].close()
