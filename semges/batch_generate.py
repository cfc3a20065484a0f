"""The job ``python -m semges generate`` runs per clip in a batch (see :mod:`semges.batch`).

For a clip named NAME it writes, in the output folder, ``NAME.npz`` (BEAT2 SMPL-X motion),
``NAME.words.json`` (the words used) and, when asked, ``NAME.bvh`` / ``NAME.glb`` /
``NAME.mp4`` (the motion as BVH, as the skinned body in glTF, or drawn as a video with the
speech). Every file is written atomically, so a clip is done exactly when all of them exist.

The exports come from the ``render`` package, imported in the worker only when an export is
asked for: importing semges (and this module) never imports ``render``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semges.atomic_files import atomic_output
from semges.batch import Clip
from semges.speech.frontend import FrontendConfig, SpeechFrontend
from semges.sampling import DEFAULT_TEMPERATURE, check_seed, check_temperature
from semges.speakers import DEFAULT_SPEAKER, speaker_id
from semges.speech import Word

if TYPE_CHECKING:
    from semges.motion import MotionClip
    from semges.pipeline import SemGesPipeline

MOTION_SUFFIX = ".npz"
WORDS_SUFFIX = ".words.json"
EXPORTS = ("bvh", "glb", "mp4")
"""Optional outputs per clip, each written as ``NAME.<export>``."""


def words_path_for(motion_path: Path) -> Path:
    """``motion.npz`` -> ``motion.words.json`` beside it."""
    return motion_path.with_name(f"{motion_path.stem}{WORDS_SUFFIX}")


def write_words(words: list[Word], path: Path) -> Path:
    """Write ``[{"word": ..., "start": s, "end": s}, ...]`` (one word a line), atomically."""
    lines = ",\n".join(f"  {json.dumps(w.to_dict())}" for w in words)
    with atomic_output(path) as partial:
        partial.write_text(f"[\n{lines}\n]\n" if words else "[]\n")
    return path


@dataclass(frozen=True)
class GenerateSettings:
    """What every clip of a batch shares (plain data: it is pickled to the workers).

    ``speaker``: the BEAT2 speaker id for every clip; None takes each clip's own speaker when
    it has one (BEAT2 clips), else the default. ``torch_threads``: torch's intra-op threads in
    each worker (0 leaves torch's default).
    """

    checkpoint: Path
    out_dir: Path
    frontend: FrontendConfig
    speaker: int | None = None
    seed: int = 0
    temperature: float = DEFAULT_TEMPERATURE
    torch_threads: int = 0
    exports: tuple[str, ...] = ()


class GenerateJob:
    """Speech file -> motion, words and exports in ``settings.out_dir`` (a ``ClipJob``)."""

    def __init__(self, settings: GenerateSettings) -> None:
        """Raises ValueError for settings no clip could be generated with."""
        unknown = set(settings.exports) - set(EXPORTS)
        if unknown:
            raise ValueError(f"unknown exports {sorted(unknown)}; known: {', '.join(EXPORTS)}")
        if settings.speaker is not None:
            speaker_id(settings.speaker)
        check_seed(settings.seed)
        check_temperature(settings.temperature)
        self.settings = settings
        self._pipeline: SemGesPipeline | None = None
        self._renderer: Any = None  # render.VideoRenderer, built for the first mp4

    def __getstate__(self) -> dict[str, Any]:
        """Only the settings travel to a worker; it loads its own models."""
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"])

    def outputs(self, clip: Clip) -> list[Path]:
        out = self.settings.out_dir
        return [out / f"{clip.name}{MOTION_SUFFIX}", out / f"{clip.name}{WORDS_SUFFIX}",
                *(out / f"{clip.name}.{export}" for export in self.settings.exports)]

    def setup(self) -> None:
        """Load the speech front-end and the checkpoint (once per process)."""
        if self._pipeline is not None:
            return
        import torch

        from semges.pipeline import SemGesPipeline

        if self.settings.torch_threads > 0:
            torch.set_num_threads(self.settings.torch_threads)
        frontend = SpeechFrontend(self.settings.frontend)
        self._pipeline = SemGesPipeline.from_pretrained(self.settings.checkpoint,
                                                        frontend=frontend)

    def run(self, clip: Clip) -> str:
        """Generate ``clip``; returns '<frames> frames (<s> s), <n> words'."""
        if self._pipeline is None:
            raise RuntimeError("setup() was not called")
        settings = self.settings
        speaker = settings.speaker or clip.speaker or DEFAULT_SPEAKER
        result = self._pipeline(clip.source, speaker=speaker, seed=settings.seed,
                                temperature=settings.temperature)
        motion_path, words_path, *export_paths = self.outputs(clip)
        write_words(result.words, words_path)
        for export, path in zip(settings.exports, export_paths, strict=True):
            self._export(export, result.motion, clip.source, path)
        from semges.motion import save_motion

        save_motion(result.motion, motion_path)
        return (f"{result.motion.num_frames} frames ({result.motion.duration_s:.2f} s), "
                f"{len(result.words)} words")

    def _export(self, export: str, motion: MotionClip, speech: Path, path: Path) -> None:
        if export == "mp4" and self._renderer is None:
            from render import VideoRenderer

            self._renderer = VideoRenderer()  # one GL context per worker, for all its clips
        write_export(export, motion, speech, path, self._renderer)


def write_export(export: str, motion: MotionClip, speech: Path, path: Path,
                 renderer: Any = None) -> Path:
    """Write ``motion`` as ``export`` (one of :data:`EXPORTS`) at ``path``, atomically.

    mp4: drawn by ``renderer`` (a ``render.VideoRenderer``; None builds one for this video),
    with ``speech`` muxed in.
    """
    if export == "bvh":
        from render.bvh import write_bvh

        return write_bvh(motion, path)
    if export == "glb":
        from render.gltf import write_glb

        return write_glb(motion, path)
    if export == "mp4":
        if renderer is not None:
            return renderer.render_video(motion, path, audio_path=os.fspath(speech))
        from render import render_video

        return render_video(motion, path, audio_path=os.fspath(speech))
    raise ValueError(f"unknown export {export!r}; known: {', '.join(EXPORTS)}")
