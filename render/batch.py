"""Many motion files in one ``python -m render`` call: the job run per clip (see
:mod:`semges.batch`), and the one function that writes any output kind for one clip.

Each worker keeps one renderer (body + GL context) for all its clips; a clip named NAME is
written to ``OUT/NAME.<kind>``, atomically, so finished clips are skipped on a re-run.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from semges.atomic_files import atomic_output
from semges.batch import AUDIO_SUFFIXES, Clip

if TYPE_CHECKING:
    from render.pipeline import VideoRenderer
    from semges.motion import MotionClip

logger = logging.getLogger(__name__)

KINDS = ("mp4", "png", "bvh", "glb")
"""Output kinds, named by their file suffix."""
DRAWN_KINDS = ("mp4", "png")  # need a renderer (OpenGL)


@dataclass(frozen=True)
class RenderSettings:
    """What every clip shares. ``body``: the renderer's body spec (None: SMPL-X when
    ``$SEMGES_SMPLX_MODEL`` is set, else the mannequin). ``still``: the frame of a png.
    ``audio_dir``: where a video's speech ``NAME.<audio suffix>`` is (None: silent videos)."""

    kind: str
    size: tuple[int, int]
    view: str
    body: str | None = None
    still: int = 0
    bvh_scale: float = 1.0
    audio: Path | None = None


def write_output(motion: MotionClip, path: Path, settings: RenderSettings,
                 renderer: VideoRenderer | None, audio: Path | None = None,
                 progress: Callable[[int, int], None] | None = None) -> Path:
    """Write ``motion`` as ``settings.kind`` at ``path`` (atomically); returns the path.

    mp4 and png are drawn by ``renderer``; bvh and glb need none.
    """
    if settings.kind == "bvh":
        from render.bvh import write_bvh

        return write_bvh(motion, path, scale=settings.bvh_scale)
    if settings.kind == "glb":
        from render.gltf import write_glb

        return write_glb(motion, path, body=settings.body)
    if renderer is None:
        raise ValueError(f"a {settings.kind} needs a renderer")
    if settings.kind == "png":
        if not 0 <= settings.still < motion.num_frames:
            raise ValueError(f"--still {settings.still} is outside the motion's "
                             f"{motion.num_frames} frames (0..{motion.num_frames - 1})")
        from PIL import Image

        image = renderer.render_still(motion, settings.still, settings.view)
        with atomic_output(path) as partial:
            Image.fromarray(image).save(partial, format="PNG")
        return path
    return renderer.render_video(motion, path, audio, settings.view, progress)


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
        self._renderer: Any = None

    def __getstate__(self) -> dict[str, Any]:
        """Only the settings travel to a worker; it builds its own renderer."""
        return {"settings": self.settings, "out_dir": self.out_dir}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"], state["out_dir"])

    def outputs(self, clip: Clip) -> list[Path]:
        return [self.out_dir / f"{clip.name}.{self.settings.kind}"]

    def setup(self) -> None:
        """Build the renderer once per process (mp4 and png only)."""
        if self._renderer is not None or self.settings.kind not in DRAWN_KINDS:
            return
        from render.pipeline import VideoRenderer

        self._renderer = VideoRenderer(self.settings.body, size=self.settings.size)

    def run(self, clip: Clip) -> str:
        from semges.motion import load_motion

        audio = None
        if self.settings.kind == "mp4" and self.settings.audio is not None:
            audio = speech_for(clip.name, self.settings.audio)
        motion = load_motion(clip.source)
        path = write_output(motion, self.outputs(clip)[0], self.settings, self._renderer, audio)
        return f"{motion.num_frames} frames -> {os.fspath(path)}"
