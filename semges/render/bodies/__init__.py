"""Body models the renderer can draw: the wooden mannequin (default) or the real SMPL-X mesh.

``load_body(spec)`` picks one:

- a ``BodyModel`` instance: used as is;
- ``None``: SMPL-X when ``$SEMGES_SMPLX_MODEL`` names a model file, else the mannequin;
- ``"mannequin"``: the ``mannequin-x`` wooden figure (no licensed file needed);
- any other string or path: an SMPL-X model file (``SMPLX_NEUTRAL_2020.npz``).
"""

from __future__ import annotations

import os

from semges.render.bodies.base import BodyModel, PosedChunk
from semges.render.bodies.smplx_body import (
    SMPLX_DOWNLOAD_URL,
    SMPLX_FILE_NAME,
    SMPLX_MODEL_ENV,
    SmplxModelError,
    resolve_smplx_model_path,
    validate_smplx_model_file,
)

MANNEQUIN: str = "mannequin"

BodySpec = BodyModel | str | os.PathLike | None


def load_body(spec: BodySpec = None) -> BodyModel:
    """Build the body named by ``spec`` (see the module docstring). Raises SmplxModelError."""
    if isinstance(spec, BodyModel):
        return spec
    if spec == MANNEQUIN:
        from semges.render.bodies.mannequin_body import MannequinBody

        return MannequinBody()
    path = resolve_smplx_model_path(spec)
    if path is None:
        from semges.render.bodies.mannequin_body import MannequinBody

        return MannequinBody()
    from semges.render.bodies.smplx_body import SmplxBody

    return SmplxBody(path)


__all__ = [
    "MANNEQUIN",
    "SMPLX_DOWNLOAD_URL",
    "SMPLX_FILE_NAME",
    "SMPLX_MODEL_ENV",
    "BodyModel",
    "BodySpec",
    "PosedChunk",
    "SmplxModelError",
    "load_body",
    "resolve_smplx_model_path",
    "validate_smplx_model_file",
]
