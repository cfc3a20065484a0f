"""The Gradio event handler: page values in, page values out, errors as friendly messages.

Kept apart from the layout (``webapp.ui``) so tests can call it directly with plain values.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Callable

import gradio as gr

from webapp.service import GenerateRequest, GestureService, UserFacingError

logger = logging.getLogger(__name__)

WORD_TABLE_HEADERS = ["word", "start (s)", "end (s)"]

HandlerOutputs = tuple[str, str, list[list[str | float]], str, str]
"""(video path, transcript used, word timing rows, .npz path, .bvh path)."""


def parse_size(size: str) -> tuple[int, int]:
    """``"640x480"`` -> (640, 480); raises UserFacingError for anything else."""
    width, sep, height = size.lower().replace("×", "x").partition("x")
    if not sep or not width.strip().isdigit() or not height.strip().isdigit():
        raise UserFacingError(f"video size must look like 640x480, got {size!r}")
    return int(width), int(height)


def make_generate_handler(service: GestureService) -> Callable[..., HandlerOutputs]:
    """The function the Generate button (and the ``/generate`` API) calls."""

    def generate(
        audio: str | None,
        transcript: str | None,
        speaker: str,
        seed: float | int | None,
        variation: float,
        body: str,
        view: str,
        size: str,
        progress: gr.Progress = gr.Progress(),
    ) -> HandlerOutputs:
        """Speech -> (video, transcript used, word timings, motion .npz, motion .bvh)."""
        try:
            request = GenerateRequest(
                audio_path=Path(audio) if audio else None,
                transcript=transcript,
                speaker=speaker,
                seed=int(seed or 0),
                temperature=float(variation),
                body=body,
                view=view,
                size=parse_size(size),
            )
            result = service.generate(
                request, progress=lambda done, words: progress(done, desc=words)
            )
        except UserFacingError as error:
            logger.info("request refused: %s", error)
            raise gr.Error(str(error), title="Cannot generate", print_exception=False) from None
        except Exception:  # a bug: log it in full, show the user an id to report, not a trace
            incident = uuid.uuid4().hex[:8]
            logger.exception("request failed (incident %s)", incident)
            raise gr.Error(
                f"Something went wrong on our side (incident {incident}). Please try again.",
                print_exception=False,
            ) from None
        if result.note:
            gr.Warning(result.note)
        rows: list[list[str | float]] = [
            [word.word, round(word.start, 2), round(word.end, 2)] for word in result.words
        ]
        return str(result.video), result.transcript, rows, str(result.motion), str(result.bvh)

    return generate
