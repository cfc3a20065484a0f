"""The render layer's writers for :mod:`semges.export`: ``bvh``, ``glb``, ``vrma``, ``mp4`` and
``png``.

Each takes ``(motion, path, options)`` and writes atomically. Importing this module checks that
the ``render`` extra is installed (:class:`semges.render.extra.RenderExtraMissing`, one line
naming it, otherwise) but loads no OpenGL, torch or body model: that happens when a renderer
is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from semges.atomic_files import atomic_output
from semges.export import ExportError, ExportOptions
from semges.render.extra import check_render_extra

if TYPE_CHECKING:
    from semges.motion import MotionClip
    from semges.render.video_renderer import VideoRenderer

check_render_extra()


def new_renderer(body: Any = None, size: tuple[int, int] | None = None) -> VideoRenderer:
    """A :class:`VideoRenderer` on ``body`` at ``size`` (None: the default picture size)."""
    from semges.render.video_encoder import DEFAULT_SIZE
    from semges.render.video_renderer import VideoRenderer

    return VideoRenderer(body, size=size or DEFAULT_SIZE)


def write_bvh_file(motion: MotionClip, path: Path, options: ExportOptions) -> Path:
    from semges.render.bvh import write_bvh

    return write_bvh(motion, path, scale=options.bvh_scale)


def write_glb_file(motion: MotionClip, path: Path, options: ExportOptions) -> Path:
    from semges.render.gltf import write_glb

    return write_glb(motion, path, body=options.body, max_faces=options.max_faces)


def write_vrma_file(motion: MotionClip, path: Path, options: ExportOptions) -> Path:
    from semges.render.vrma import write_vrma

    return write_vrma(motion, path)


def _view(options: ExportOptions) -> str:
    from semges.render.framing import DEFAULT_VIEW

    return options.view or DEFAULT_VIEW


def write_video(motion: MotionClip, path: Path, options: ExportOptions) -> Path:
    """An H.264 mp4 of ``motion`` with ``options.speech`` muxed in, drawn by
    ``options.renderer`` (None: a renderer built and freed for this video)."""
    if options.renderer is not None:
        return options.renderer.render_video(
            motion, path, options.speech, _view(options), options.progress
        )
    with new_renderer(options.body, options.size) as renderer:
        return renderer.render_video(motion, path, options.speech, _view(options), options.progress)


def write_still(motion: MotionClip, path: Path, options: ExportOptions) -> Path:
    """Frame ``options.frame`` of ``motion`` as a PNG."""
    if not 0 <= options.frame < motion.num_frames:
        raise ExportError(
            f"frame {options.frame} is outside the motion's {motion.num_frames} "
            f"frames (0..{motion.num_frames - 1})"
        )
    from PIL import Image

    if options.renderer is not None:
        image = options.renderer.render_still(motion, options.frame, _view(options))
    else:
        with new_renderer(options.body, options.size) as renderer:
            image = renderer.render_still(motion, options.frame, _view(options))
    with atomic_output(path) as partial:
        Image.fromarray(image).save(partial, format="PNG")
    return path
