"""The render layer's optional packages (``pip install 'semges[render]'``), and the one-line
message a missing one gives.

Only :func:`importlib.util.find_spec` is used to look for them, so checking imports nothing:
OpenGL in particular must not be imported before :func:`semges.render.configure_headless_gl`.
"""

from __future__ import annotations

import importlib.util

RENDER_EXTRA = "render"
INSTALL_HINT = f"pip install 'semges[{RENDER_EXTRA}]'"
RENDER_EXTRA_MODULES: dict[str, str] = {
    "scipy": "scipy",
    "pyrender": "pyrender-maintained",
    "OpenGL": "PyOpenGL",
    "smplx": "smplx",
    "PIL": "pillow",
    "pygltflib": "pygltflib",
    "fast_simplification": "fast-simplification",
}
"""Top-level module -> the distribution of the ``render`` extra that provides it (the same
list as ``[project.optional-dependencies] render`` in pyproject.toml; a test compares them)."""


class RenderExtraMissing(ImportError):
    """A package of the ``render`` extra is not installed; the message says what to install."""


def missing_message(modules: list[str]) -> str:
    """One line naming the missing distributions and the extra that brings them."""
    names = ", ".join(RENDER_EXTRA_MODULES.get(module, module) for module in modules)
    return (
        f"the render extra is not installed (missing {names}): {INSTALL_HINT} "
        "for BVH, glTF, mp4 and PNG exports"
    )


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_render_extra() -> None:
    """Raise :class:`RenderExtraMissing` unless every package of the extra can be imported."""
    missing = [module for module in RENDER_EXTRA_MODULES if not _installed(module)]
    if missing:
        raise RenderExtraMissing(missing_message(missing))


def is_extra_module(error: ModuleNotFoundError) -> bool:
    """Whether an import failed for want of a package of the extra (not a bug elsewhere)."""
    return (error.name or "").split(".")[0] in RENDER_EXTRA_MODULES
