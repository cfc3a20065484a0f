"""Per-stage progress: the pipeline's and renderer's stage callbacks -> one overall fraction.

The pipeline reports ``(stage, fraction of that stage)`` (:data:`semges.progress.StageCallback`);
the page shows one bar. Each stage owns a slice of the bar, sized roughly by how long it takes
on a CPU for a short clip.
"""

from __future__ import annotations

from collections.abc import Callable

from semges.progress import Stage

OverallProgress = Callable[[float, str], None]
"""Called with the overall fraction done (0..1) and a short description for the user."""

STAGE_SLICES: dict[Stage, tuple[float, float]] = {
    Stage.LOADING: (0.00, 0.05),
    Stage.TRANSCRIBING: (0.05, 0.30),
    Stage.FEATURES: (0.30, 0.40),
    Stage.GENERATING: (0.40, 0.48),
    Stage.SAVING: (0.48, 0.50),  # then the page plays the motion
    Stage.RENDERING: (0.50, 0.92),
    Stage.ENCODING: (0.92, 1.00),
}
"""Each stage's (start, end) slice of the bar, in :class:`Stage` order."""


class StageProgress:
    """Adapts ``(stage, fraction)`` callbacks to an :data:`OverallProgress` sink.

    The overall fraction never moves backwards, so a stage that reports late cannot make the
    bar jump back. Per-frame reports are thinned to steps of ``min_step`` (each report is a
    message to the browser); a new stage and the end are always passed on.
    """

    def __init__(self, sink: OverallProgress, min_step: float = 0.01) -> None:
        self._sink = sink
        self._min_step = min_step
        self._done = 0.0
        self._sent: tuple[float, str] | None = None

    def __call__(self, stage: Stage, fraction: float) -> None:
        start, end = STAGE_SLICES[stage]
        words = stage.label
        overall = start + (end - start) * min(max(float(fraction), 0.0), 1.0)
        self._done = max(self._done, overall)
        if (
            self._sent is None
            or words != self._sent[1]
            or self._done - self._sent[0] >= self._min_step
            or (self._done >= 1.0 > self._sent[0])
        ):
            self._sent = (self._done, words)
            self._sink(self._done, words)
