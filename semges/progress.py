"""The stages of turning speech into a gesturing video, one type for every part that reports.

The speech front-end reports loading, transcribing and features; the pipeline generating; the
app saving the motion files; the renderer rendering and encoding. Each calls a
:data:`StageCallback` with a :class:`Stage` and the fraction of that stage done, and the app
turns those into one progress bar (``webapp.progress``).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum


class Stage(StrEnum):
    """A stage of the work, in the order they run. ``label`` is what a user is shown."""

    LOADING = "loading"
    TRANSCRIBING = "transcribing"
    FEATURES = "features"
    GENERATING = "generating"
    SAVING = "saving"
    RENDERING = "rendering"
    ENCODING = "encoding"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS: dict[Stage, str] = {
    Stage.LOADING: "Loading audio",
    Stage.TRANSCRIBING: "Transcribing speech",
    Stage.FEATURES: "Extracting speech features",
    Stage.GENERATING: "Generating gestures",
    Stage.SAVING: "Saving motion files",
    Stage.RENDERING: "Rendering video",
    Stage.ENCODING: "Encoding video",
}

StageCallback = Callable[[Stage, float], None]
"""Called as ``progress(stage, fraction)`` with the fraction of ``stage`` done (0..1)."""


def ignore_progress(stage: Stage, fraction: float) -> None:
    """The :data:`StageCallback` used when nobody listens."""
