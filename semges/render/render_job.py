"""Many motion files in one ``python -m semges.render`` call: the job run per clip (see
:mod:`semges.batch`).

Each worker keeps one :class:`semges.export.ExportSession` (one renderer: body + GL context)
for all its clips; a clip named NAME is written to ``OUT/NAME.<kind>`` through
:func:`semges.export.export`, atomically, so finished clips are skipped on a re-run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semges.batch import AUDIO_SUFFIXES, Clip
from semges.export import EXPORT_KINDS, ExportOptions, ExportSession

KINDS = ("mp4", "png", "bvh", "glb", "vrma")
"""The kinds the render command writes, named by their file suffix."""
DRAWN_KINDS = tuple(kind for kind in KINDS if EXPORT_KINDS[kind].drawn)  # need OpenGL


@dataclass(frozen=True)
class RenderSettings:
    """What every clip shares. ``body``: the renderer's body spec (None: SMPL-X when
    ``$SEMGES_SMPLX_MODEL`` is set, else the mannequin). ``still``: the frame of a png.
    ``max_faces``: a glb's body simplified to at most this many triangles (None: all of them).
    ``audio``: the folder of a video's speech ``NAME.<audio suffix>`` (None: silent videos)."""

    kind: str
    size: tuple[int, int]
    view: str
    body: str | None = None
    still: int = 0
    bvh_scale: float = 1.0
    max_faces: int | None = None
    audio: Path | None = None

    def options(self, speech: Path | None = None) -> ExportOptions:
        """The export options of one clip (``speech``: its audio, for a video)."""
        return ExportOptions(
            speech=speech,
            view=self.view,
            frame=self.still,
            bvh_scale=self.bvh_scale,
            max_faces=self.max_faces,
        )


def speech_for(name: str, audio_dir: Path) -> Path:
    """The speech of clip ``name`` in ``audio_dir``: ``NAME.wav`` (or another audio suffix)."""
    for suffix in AUDIO_SUFFIXES:
        path = audio_dir / f"{name}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(f"no speech for {name} in {audio_dir} ({name}.wav, .mp3, ...)")


class RenderJob:
    """Motion file -> ``out_dir/NAME.<kind>`` (a ``semges.batch.ClipJob``)."""

    def __init__(self, settings: RenderSettings, out_dir: Path) -> None:
        if settings.kind not in KINDS:
            raise ValueError(f"unknown output kind {settings.kind!r}; known: {', '.join(KINDS)}")
        self.settings = settings
        self.out_dir = out_dir
        self._exports = ExportSession(settings.body, settings.size)

    def __getstate__(self) -> dict[str, Any]:
        """Only the settings travel to a worker; it builds its own renderer."""
        return {"settings": self.settings, "out_dir": self.out_dir}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"], state["out_dir"])

    def outputs(self, clip: Clip) -> list[Path]:
        return [self.out_dir / f"{clip.name}{EXPORT_KINDS[self.settings.kind].suffix}"]

    def setup(self) -> None:
        """Build the renderer once per process (mp4 and png only)."""
        if self.settings.kind in DRAWN_KINDS:
            self._exports.renderer()

    def run(self, clip: Clip) -> str:
        from semges.motion import load_motion

        audio = None
        if self.settings.kind == "mp4" and self.settings.audio is not None:
            audio = speech_for(clip.name, self.settings.audio)
        motion = load_motion(clip.source)
        path = self._exports.export(
            motion, self.settings.kind, self.outputs(clip)[0], self.settings.options(audio)
        )
        return f"{motion.num_frames} frames -> {os.fspath(path)}"
