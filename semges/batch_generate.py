"""The job ``python -m semges generate`` runs per clip in a batch (see :mod:`semges.batch`).

For a clip named NAME it writes, in the output folder, ``NAME.npz`` (BEAT2 SMPL-X motion),
``NAME.words.json`` (the words used) and, when asked, any other kind of :mod:`semges.export`
(``NAME.bvh`` / ``NAME.glb`` / ``NAME.vrma`` / ``NAME.mp4`` ...), through :func:`semges.export.export`. Every
file is written atomically, so a clip is done exactly when all of them exist.

The render kinds' writers are imported in the worker only when such an export is asked for:
importing semges (and this module) never imports ``semges.render``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semges.batch import Clip
from semges.export import EXPORT_KINDS, ExportOptions, ExportSession, export_kind
from semges.sampling import DEFAULT_TEMPERATURE, check_seed, check_temperature
from semges.speakers import DEFAULT_SPEAKER, speaker_id
from semges.speech.frontend import FrontendConfig, SpeechFrontend

if TYPE_CHECKING:
    from semges.pipeline import SemGesPipeline

CLIP_OUTPUTS = ("npz", "words")
"""What every clip writes; ``GenerateSettings.exports`` adds more."""
EXPORTS = ("bvh", "glb", "vrma", "mp4")
"""The kinds ``generate`` offers beside them (``--bvh`` ...), each written as ``NAME<suffix>``
(a still of one frame is ``python -m semges.render``'s)."""


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
        for kind in settings.exports:
            export_kind(kind)  # ExportError (a ValueError) for an unknown kind
        if settings.speaker is not None:
            speaker_id(settings.speaker)
        check_seed(settings.seed)
        check_temperature(settings.temperature)
        self.settings = settings
        self._pipeline: SemGesPipeline | None = None
        self._exports = ExportSession()  # one renderer per worker, built for the first mp4

    def __getstate__(self) -> dict[str, Any]:
        """Only the settings travel to a worker; it loads its own models."""
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"])

    def outputs(self, clip: Clip) -> list[Path]:
        out = self.settings.out_dir
        return [
            out / f"{clip.name}{EXPORT_KINDS[kind].suffix}"
            for kind in (*CLIP_OUTPUTS, *self.settings.exports)
        ]

    def setup(self) -> None:
        """Load the speech front-end and the checkpoint (once per process)."""
        if self._pipeline is not None:
            return
        import torch

        from semges.pipeline import SemGesPipeline

        if self.settings.torch_threads > 0:
            torch.set_num_threads(self.settings.torch_threads)
        frontend = SpeechFrontend(self.settings.frontend)
        self._pipeline = SemGesPipeline.from_pretrained(self.settings.checkpoint, frontend=frontend)

    def run(self, clip: Clip) -> str:
        """Generate ``clip``; returns '<frames> frames (<s> s), <n> words'."""
        if self._pipeline is None:
            raise RuntimeError("setup() was not called")
        settings = self.settings
        speaker = settings.speaker or clip.speaker or DEFAULT_SPEAKER
        result = self._pipeline(
            clip.source, speaker=speaker, seed=settings.seed, temperature=settings.temperature
        )
        paths = dict(zip((*CLIP_OUTPUTS, *settings.exports), self.outputs(clip), strict=True))
        options = ExportOptions(words=result.words, speech=clip.source)
        for kind in ("words", *settings.exports, "npz"):  # the motion last, as always
            self._exports.export(result.motion, kind, paths[kind], options)
        return (
            f"{result.motion.num_frames} frames ({result.motion.duration_s:.2f} s), "
            f"{len(result.words)} words"
        )
