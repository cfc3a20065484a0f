"""Choose the headless OpenGL platform before anything imports OpenGL.

PyOpenGL reads ``PYOPENGL_PLATFORM`` once, when ``OpenGL`` is first imported, so the choice has
to be made by the program's entry point (the CLI's ``main``, the web app's start-up, or the
first :class:`semges.render.VideoRenderer`), never as a side effect of importing this package.

- ``osmesa``: Mesa's software rasteriser (llvmpipe), no display and no GPU needed (Debian
  package ``libosmesa6``). The default on machines without an NVIDIA GPU.
- ``egl``: headless EGL, hardware accelerated where an NVIDIA GPU is present.

A ``PYOPENGL_PLATFORM`` already set by the user always wins.
"""

from __future__ import annotations

import glob
import logging
import os
import sys

logger = logging.getLogger(__name__)

PLATFORM_ENV: str = "PYOPENGL_PLATFORM"
OSMESA: str = "osmesa"
EGL: str = "egl"
SUPPORTED_PLATFORMS: tuple[str, ...] = (OSMESA, EGL)
_NVIDIA_DEVICE_GLOB: str = "/dev/nvidia[0-9]*"


class GLPlatformError(RuntimeError):
    """Headless OpenGL cannot be set up as asked."""


def _has_nvidia_gpu() -> bool:
    return bool(glob.glob(_NVIDIA_DEVICE_GLOB))


def default_platform() -> str:
    """``egl`` where an NVIDIA GPU device node exists, ``osmesa`` everywhere else."""
    return EGL if _has_nvidia_gpu() else OSMESA


def configure_headless_gl(platform: str | None = None) -> str:
    """Set ``PYOPENGL_PLATFORM`` for offscreen rendering and return the platform in use.

    Call this before the first import of ``OpenGL`` / ``pyrender`` in the process. Calling it
    again is harmless. ``platform`` forces one of ``"osmesa"`` / ``"egl"``; otherwise an
    existing ``PYOPENGL_PLATFORM`` is kept, or :func:`default_platform` picks one.

    Raises GLPlatformError when the platform is unknown, or when OpenGL was already imported
    with a different platform (the choice can no longer take effect in this process).
    """
    current = os.environ.get(PLATFORM_ENV)
    chosen = platform or current or default_platform()
    if chosen not in SUPPORTED_PLATFORMS:
        raise GLPlatformError(
            f"unsupported OpenGL platform {chosen!r}; use one of {', '.join(SUPPORTED_PLATFORMS)}"
        )
    if "OpenGL" in sys.modules and current != chosen:
        raise GLPlatformError(
            f"OpenGL was imported with {PLATFORM_ENV}={current!r} before the renderer could "
            f"choose {chosen!r}; call semges.render.configure_headless_gl() before importing OpenGL"
        )
    if current != chosen:
        os.environ[PLATFORM_ENV] = chosen
        logger.debug("headless OpenGL platform: %s", chosen)
    return chosen
