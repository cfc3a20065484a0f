"""The Gradio event handlers: page values in, page values out, errors as friendly messages.

Kept apart from the layout (``webapp.ui``) so tests can call them directly with plain values.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import gradio as gr

from semges.render.framing import DEFAULT_VIEW
from semges.render.video_encoder import DEFAULT_SIZE, parse_frame_size
from semges.sampling import DEFAULT_TEMPERATURE, check_seed
from semges.speakers import BEAT2_SPEAKERS, DEFAULT_SPEAKER
from webapp.rendering import BODY_MANNEQUIN
from webapp.service import (
    MAX_VIDEO_SIDE,
    GenerateRequest,
    GestureService,
    ServedFiles,
    UserFacingError,
)

logger = logging.getLogger(__name__)

WORD_TABLE_HEADERS = ["word", "start (s)", "end (s)"]
DEFAULT_SIZE_CHOICE = "{}x{}".format(*DEFAULT_SIZE)
BUSY_MESSAGE = "The demo is busy, try again in a minute."
DONE_MESSAGE = "Done."
WORKING_MESSAGE = "Working…"

HandlerOutputs = tuple[str | None, str, list[list[str | float]], str, str, str, str, str]
"""(video path, transcript used, word timing rows, .npz path, .bvh path, .glb path, .vrma
path, seed used, in digits); the video is None in the first outputs, which come as soon as
the motion exists."""


def parse_size(size: str) -> tuple[int, int]:
    """``"640x480"`` -> (640, 480), by the renderer's size rule within the demo's limit;
    raises UserFacingError for anything else."""
    try:
        return parse_frame_size(size, max_side=MAX_VIDEO_SIDE)
    except ValueError as error:
        raise UserFacingError(str(error)) from error


def parse_seed(seed: str | float | None) -> int | None:
    """The seed box's text (or an API caller's number) -> a seed; None when empty: a fresh
    seed for this request. Raises UserFacingError, in the words of the seed rule, for
    anything but a whole number in range."""
    text = "" if seed is None else str(seed).strip()
    if not text:
        return None
    if isinstance(seed, str):
        seed = int(text) if text.isdecimal() else text  # text check_seed refuses, quoted
    try:
        return check_seed(seed)
    except ValueError as error:
        raise UserFacingError(str(error)) from error


class Outcomes:
    """The last request's outcome per browser session, for the page's status line.

    A failed request's message would otherwise only show in a toast that vanishes; the
    status line keeps it. Bounded: API clients record outcomes that no page ever reads.
    """

    def __init__(self, capacity: int = 1000) -> None:
        self._capacity = capacity
        self._by_session: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, session: str | None, text: str) -> None:
        if session is None:
            return
        with self._lock:
            self._by_session[session] = text
            self._by_session.move_to_end(session)
            while len(self._by_session) > self._capacity:
                self._by_session.popitem(last=False)

    def take(self, session: str | None) -> str:
        """The session's last outcome (forgotten once read); empty when there is none."""
        with self._lock:
            return self._by_session.pop(session, "") if session is not None else ""


def _session(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None) if request is not None else None


def make_generate_handler(
    service: GestureService, outcomes: Outcomes | None = None
) -> Callable[..., Iterator[HandlerOutputs]]:
    """The function the Generate button (and the ``/generate`` API) calls.

    A generator: it yields the outputs twice, first as soon as the motion exists (motion
    files, no video yet: the page plays the ``.glb`` at once), then with the video. An API
    client gets the last. Every option has a default, so an API call may give the audio alone.
    """
    outcomes = outcomes if outcomes is not None else Outcomes()
    default_speaker = BEAT2_SPEAKERS[DEFAULT_SPEAKER]

    def generate(
        audio: str | None,
        transcript: str | None = None,
        speaker: str = default_speaker,
        seed: str | float | None = None,
        variation: float = DEFAULT_TEMPERATURE,
        body: str = BODY_MANNEQUIN,
        view: str = DEFAULT_VIEW,
        size: str = DEFAULT_SIZE_CHOICE,
        progress: gr.Progress = gr.Progress(),
        request: gr.Request | None = None,
    ) -> Iterator[HandlerOutputs]:
        """Speech -> (video, transcript used, word timings, motion .npz, .bvh, .glb, .vrma, seed
        used).

        ``seed`` None or empty (the page's seed box as it starts): a fresh seed for this
        request; the seed used comes back last, as digits, for the page and the API alike.
        ``variation``: the sampling temperature, under the name the page shows and the
        ``/generate`` API has always taken (README); the code calls it temperature.
        """
        session = _session(request)
        try:
            generate_request = GenerateRequest(
                audio_path=Path(audio) if audio else None,
                transcript=transcript,
                speaker=speaker or default_speaker,
                seed=parse_seed(seed),
                temperature=DEFAULT_TEMPERATURE if variation is None else float(variation),
                body=body or BODY_MANNEQUIN,
                view=view or DEFAULT_VIEW,
                size=parse_size(size or DEFAULT_SIZE_CHOICE),
            )
            steps = service.generate_steps(
                generate_request, progress=lambda done, words: progress(done, desc=words)
            )
            for result in steps:
                if result.video is None and result.note:
                    gr.Warning(result.note)
                yield _outputs(result)
        except UserFacingError as error:
            logger.info("request refused: %s", error)
            outcomes.record(session, str(error))
            raise gr.Error(str(error), title="Cannot generate", print_exception=False) from None
        except Exception:  # a bug: log it in full, show the user an id to report, not a trace
            incident = uuid.uuid4().hex[:8]
            logger.exception("request failed (incident %s)", incident)
            message = f"Something went wrong on our side (incident {incident}). Please try again."
            outcomes.record(session, message)
            raise gr.Error(message, print_exception=False) from None
        outcomes.record(session, f"{DONE_MESSAGE} {result.note}" if result.note else DONE_MESSAGE)

    return generate


def _outputs(result: ServedFiles) -> HandlerOutputs:
    """The page's values for a (partial or full) result."""
    rows: list[list[str | float]] = [
        [word.word, round(word.start, 2), round(word.end, 2)] for word in result.words
    ]
    video = None if result.video is None else str(result.video)
    return (
        video,
        result.transcript,
        rows,
        str(result.motion),
        str(result.bvh),
        str(result.glb),
        str(result.vrma),
        str(result.seed),
    )


def make_status_handler(outcomes: Outcomes) -> Callable[..., str]:
    """Shows the session's last outcome in the status line (after each Generate)."""

    def show_status(request: gr.Request | None = None) -> str:
        return outcomes.take(_session(request))

    return show_status
