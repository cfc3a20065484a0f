"""The render layer: SMPL-X motion as a mesh video with the speech (on CPU), a still, BVH,
glTF and VRM Animation. Installed with the package; its packages come with the extra
(``pip install 'semges[render]'``, :mod:`semges.render.extra`). The core never imports it:
files are written through :func:`semges.export.export`, which imports this layer's writers
(:mod:`semges.render.exporters`) for the render kinds only.

Public API::

    from semges.render import VideoRenderer, render_video, write_bvh

    # one-shot: build, render, free
    render_video(motion, "out/talk.mp4", audio_path="speech.wav", size=(720, 480),
                 view="upper", body=None, progress=None)

    # a long-lived renderer (the app keeps one loaded; one clip at a time per instance)
    renderer = VideoRenderer(body=None, size=(720, 480))
    renderer.render_video(motion, "out/talk.mp4", audio_path="speech.wav", view="full",
                          progress=lambda done, total: ...)
    still = renderer.render_still(motion, frame=120, view="upper")  # (480, 720, 3) uint8
    renderer.close()

    write_bvh(motion, "out/talk.bvh")

- ``motion``: a :class:`semges.motion.MotionClip` (SMPL-X, 30 fps); ``load_motion`` reads one.
- ``body``: ``None`` (the real SMPL-X mesh when ``$SEMGES_SMPLX_MODEL`` names
  ``SMPLX_NEUTRAL_2020.npz``, else the wooden mannequin), ``"mannequin"``, or a path to the
  SMPL-X model file. A missing or malformed file raises :class:`SmplxModelError`, whose message
  says what to download and from where.
- ``view``: ``"upper"`` (head to hips, hands always in frame) or ``"full"`` (with the floor).
  The camera is fixed for the clip and framed on every frame, so nothing leaves the picture.
- ``progress(frames_done, frames_total)`` is called after each encoded frame; raising from it
  cancels the render. No partial mp4 is ever left at the output path.
- Video: H.264 (yuv420p) at 30 fps, exactly one frame per motion frame, the audio (AAC) padded
  or trimmed to the motion's duration.

Headless OpenGL: :func:`configure_headless_gl` picks OSMesa (CPU) or EGL (NVIDIA GPU) and must
run before anything imports OpenGL; ``VideoRenderer`` calls it. Importing this package is light
(no OpenGL, torch or model loading happens until a renderer is built).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from semges.render.gl_platform import GLPlatformError, configure_headless_gl

if TYPE_CHECKING:
    from semges.render.bodies import SmplxModelError
    from semges.render.bvh import write_bvh
    from semges.render.video_encoder import EncoderSettings, VideoEncodeError
    from semges.render.video_renderer import Framing, VideoRenderer, render_video

_LAZY: dict[str, str] = {
    "VideoRenderer": "semges.render.video_renderer",
    "Framing": "semges.render.video_renderer",
    "render_video": "semges.render.video_renderer",
    "write_bvh": "semges.render.bvh",
    "SmplxModelError": "semges.render.bodies",
    "EncoderSettings": "semges.render.video_encoder",
    "VideoEncodeError": "semges.render.video_encoder",
}


def __getattr__(name: str) -> Any:
    """Import the public names on first use, so ``import semges.render`` stays cheap."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'semges.render' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "EncoderSettings",
    "Framing",
    "GLPlatformError",
    "SmplxModelError",
    "VideoEncodeError",
    "VideoRenderer",
    "configure_headless_gl",
    "render_video",
    "write_bvh",
]
