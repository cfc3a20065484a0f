"""One registry of the files a motion can be written as, and the one function that writes them.

    export(motion, "npz", "out/talk.npz")
    export(motion, "words", "out/talk.words.json", ExportOptions(words=result.words))
    export(motion, "glb", "out/talk.glb", ExportOptions(body="mannequin"))
    export(motion, "mp4", "out/talk.mp4", ExportOptions(speech=Path("talk.wav"), view="full"))

Every command line (``python -m semges generate``, ``python -m semges.render``), the batch jobs
and the web app write through :func:`export`; a new kind (a live stream) is one more
:class:`ExportKind` in :data:`EXPORT_KINDS` and one writer function.

Layering: the core kinds (``npz``, ``words``) are written by the core. The others need the
render layer and its optional packages (``pip install 'semges[render]'``): the registry names
their writer by module path and imports it on first use, so importing semges never imports
``semges.render``, and a missing package gives :class:`ExportUnavailable`, one line naming the
extra. Every writer writes atomically (:mod:`semges.atomic_files`): no half-written file is
ever left at the output path.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semges.atomic_files import atomic_output

if TYPE_CHECKING:
    from semges.motion import MotionClip
    from semges.speech import Word

WORDS_SUFFIX = ".words.json"


@dataclass(frozen=True)
class ExportOptions:
    """What a writer may need besides the motion; each kind reads only its own fields.

    ``words``: the timed words (``words``). ``speech``: audio muxed into an ``mp4`` (None: a
    silent video). ``body``: the body of ``glb``, ``mp4`` and ``png`` (None: SMPL-X when
    ``$SEMGES_SMPLX_MODEL`` is set, else the mannequin; ``"mannequin"``, an SMPL-X model file,
    or a loaded ``semges.render.bodies.BodyModel``). ``renderer``: a
    ``semges.render.VideoRenderer`` to draw ``mp4`` / ``png`` with (None: one is built and
    freed for this file, at ``size``). ``view``: ``"upper"`` or ``"full"`` (None: the
    renderer's default). ``frame``: the 0-based frame of a ``png``. ``bvh_scale``: BVH lengths
    in metres times this. ``max_faces``: a ``glb``'s body simplified to at most this many
    triangles (None: the whole mesh). ``progress(frames_done, frames_total)``: called per video
    frame.
    """

    words: Sequence[Word] | None = None
    speech: Path | None = None
    body: Any = None
    renderer: Any = None
    size: tuple[int, int] | None = None
    view: str | None = None
    frame: int = 0
    bvh_scale: float = 1.0
    max_faces: int | None = None
    progress: Callable[[int, int], None] | None = None


Writer = Callable[["MotionClip", Path, ExportOptions], Path]


@dataclass(frozen=True)
class ExportKind:
    """One kind of output file. ``writer``: ``"module:function"``, a :data:`Writer` imported on
    first use. ``drawn``: drawn by an OpenGL renderer (``ExportOptions.renderer``).
    ``extra``: the optional dependency group its writer needs (None: the core's)."""

    name: str
    suffix: str
    description: str
    writer: str
    drawn: bool = False
    extra: str | None = None


EXPORT_KINDS: dict[str, ExportKind] = {
    kind.name: kind
    for kind in (
        ExportKind("npz", ".npz", "SMPL-X motion, BEAT2 / EMAGE layout", "semges.export:write_npz"),
        ExportKind(
            "words",
            WORDS_SUFFIX,
            'the timed words: [{"word": ..., "start": s, "end": s}]',
            "semges.export:write_words_file",
        ),
        ExportKind(
            "bvh", ".bvh", "BVH in metres", "semges.render.exporters:write_bvh_file", extra="render"
        ),
        ExportKind(
            "glb",
            ".glb",
            "glTF 2.0: the skinned body, animated",
            "semges.render.exporters:write_glb_file",
            extra="render",
        ),
        ExportKind(
            "vrma",
            ".vrma",
            "VRM Animation: the motion for any VRM character, mouth included",
            "semges.render.exporters:write_vrma_file",
            extra="render",
        ),
        ExportKind(
            "mp4",
            ".mp4",
            "a video of the body with the speech",
            "semges.render.exporters:write_video",
            drawn=True,
            extra="render",
        ),
        ExportKind(
            "png",
            ".png",
            "one frame of the body as a picture",
            "semges.render.exporters:write_still",
            drawn=True,
            extra="render",
        ),
    )
}
"""Every kind :func:`export` writes, by name."""

RENDERER_FACTORY = "semges.render.exporters:new_renderer"
"""``(body, size) -> VideoRenderer``: what :class:`ExportSession` draws its kinds with."""


class ExportError(ValueError):
    """An unknown kind, or options a kind cannot be written with."""


class ExportUnavailable(RuntimeError):
    """A kind's optional packages are not installed; the message names the extra (one line)."""


def export_kind(name: str) -> ExportKind:
    """The registered kind ``name``; ExportError when there is none."""
    try:
        return EXPORT_KINDS[name]
    except KeyError:
        raise ExportError(f"unknown export {name!r}; known: {', '.join(EXPORT_KINDS)}") from None


def _load(target: str, extra: str | None) -> Any:
    module, _, name = target.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as error:
        if extra is None:
            raise
        if f"semges[{extra}]" in str(error):  # the layer's own one-line message
            raise ExportUnavailable(str(error)) from None
        missing = getattr(error, "name", None) or ""
        if not isinstance(error, ModuleNotFoundError) or missing.startswith("semges"):
            raise  # a bug, not a missing package
        raise ExportUnavailable(
            f"the {extra} extra is not installed (missing {missing}): pip install 'semges[{extra}]'"
        ) from None


def check_available(kinds: Iterable[str]) -> None:
    """Raise ExportError for an unknown kind, ExportUnavailable for one whose extra is not
    installed; imports the writers (light: no OpenGL, no body model) but writes nothing."""
    for name in kinds:
        kind = export_kind(name)
        _load(kind.writer, kind.extra)


def export(
    motion: MotionClip, kind: str, path: str | os.PathLike, options: ExportOptions | None = None
) -> Path:
    """Write ``motion`` as ``kind`` (a name in :data:`EXPORT_KINDS`) at ``path``, atomically.

    Returns the path. Raises ExportError (unknown kind, bad options), ExportUnavailable (the
    kind's extra is not installed), OSError, and what the writer raises for bad motion.
    """
    spec = export_kind(kind)
    writer: Writer = _load(spec.writer, spec.extra)
    return writer(motion, Path(path), options or ExportOptions())


class ExportSession:
    """Writes many files in one process, drawing ``mp4`` / ``png`` with one renderer (one GL
    context, built at the first drawn file and kept) on ``body`` at ``size``.

    A batch worker keeps one for all its clips; ``close()`` frees the renderer.
    """

    def __init__(self, body: Any = None, size: tuple[int, int] | None = None) -> None:
        self.body = body
        self.size = size
        self._renderer: Any = None

    def export(
        self,
        motion: MotionClip,
        kind: str,
        path: str | os.PathLike,
        options: ExportOptions | None = None,
    ) -> Path:
        """:func:`export` with this session's body, size and renderer."""
        options = replace(options or ExportOptions(), body=self.body, size=self.size)
        if export_kind(kind).drawn:
            options = replace(options, renderer=self.renderer())
        return export(motion, kind, path, options)

    def renderer(self) -> Any:
        """The session's ``semges.render.VideoRenderer`` (built on first use)."""
        if self._renderer is None:
            self._renderer = _load(RENDERER_FACTORY, "render")(self.body, self.size)
        return self._renderer

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


def words_path_for(motion_path: Path) -> Path:
    """``motion.npz`` -> ``motion.words.json`` beside it."""
    return motion_path.with_name(f"{motion_path.stem}{WORDS_SUFFIX}")


def write_words(words: Sequence[Word], path: str | os.PathLike) -> Path:
    """Write ``[{"word": ..., "start": s, "end": s}, ...]`` (one word a line), atomically."""
    lines = ",\n".join(f"  {json.dumps(w.to_dict())}" for w in words)
    with atomic_output(path) as partial:
        partial.write_text(f"[\n{lines}\n]\n" if words else "[]\n")
    return Path(path)


def write_npz(motion: MotionClip, path: Path, options: ExportOptions) -> Path:
    """The ``npz`` writer: :func:`semges.motion.save_motion`."""
    from semges.motion import save_motion

    return save_motion(motion, path)


def write_words_file(motion: MotionClip, path: Path, options: ExportOptions) -> Path:
    """The ``words`` writer: ``options.words`` as :func:`write_words` lays them out."""
    if options.words is None:
        raise ExportError("a words export needs the words (ExportOptions.words)")
    return write_words(options.words, path)
