"""The demo's one operation, typed and free of Gradio: speech in, motion files + video out.

``GestureService`` holds what is loaded once at start-up (the pipeline with its warmed speech
front-end, and the renderers) and serves any number of requests, each in its own folder.
A request is served in two steps (:meth:`GestureService.generate_steps`): the motion files
(``.npz``, ``.bvh`` and the ``.glb`` the page plays at once) as soon as the motion exists,
then the video, which takes most of the time.
Anything wrong with a request raises :class:`UserFacingError`, whose message is written for
the person at the page; everything else is a bug and is logged with its traceback.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from semges.export import export
from semges.pipeline import SemGesPipeline
from semges.progress import Stage
from semges.render.framing import DEFAULT_VIEW, check_view
from semges.render.video_encoder import DEFAULT_SIZE, check_frame_size
from semges.sampling import DEFAULT_TEMPERATURE, check_seed, check_temperature
from semges.speakers import BEAT2_SPEAKERS, DEFAULT_SPEAKER
from semges.speech import SpeechFeatures, Word
from semges.speech.audio import SAMPLE_RATE, Audio, AudioError, decode_audio
from webapp.memory import return_freed_memory
from webapp.progress import OverallProgress, StageProgress
from webapp.rendering import BODY_MANNEQUIN, Renderers
from webapp.settings import BYTES_PER_MB, AppSettings
from webapp.workspace import Workspace

logger = logging.getLogger(__name__)

SILENCE_RMS = 1e-3  # loudest 30 ms window quieter than -60 dBFS: nothing was recorded
_RMS_WINDOW = int(0.03 * SAMPLE_RATE)
MAX_VIDEO_SIDE = 1920  # bounds a request's rendering work; the renderer itself takes 4096
MAX_CHARS_PER_WORD = 30  # a transcript's character limit: its word limit times this
TIMINGS_ESTIMATED = "The transcript does not match the speech; word timings were estimated."
NOT_ENGLISH = (
    "This demo understands English speech only. This recording does not sound like English, "
    "so the words (and the gestures that follow them) may be wrong."
)
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
# Fresh seeds stay below 2**31 (any seed up to semges.sampling.MAX_SEED may be given): ten
# digits at most, which a person reads off the page, types back or tells someone, where a
# 64-bit seed has twenty; and a plain number in any language (a JavaScript number rounds
# whole numbers above 2**53). Two billion seeds are far more variations than anyone looks at.
MAX_FRESH_SEED = 2**31 - 1


class UserFacingError(ValueError):
    """A request the demo cannot serve; the message says why, in words for the user."""


@dataclass(frozen=True)
class GenerateRequest:
    """One request from the page or the API."""

    audio_path: Path | None  # uploaded or recorded speech (any common audio format)
    transcript: str | None = None  # None or blank: Whisper transcribes the speech
    speaker: str = BEAT2_SPEAKERS[DEFAULT_SPEAKER]  # BEAT2 speaker name
    seed: int | None = None  # None: a fresh seed for this request (the result says which)
    temperature: float = DEFAULT_TEMPERATURE  # 0: the most likely gestures; above: sampled
    body: str = BODY_MANNEQUIN  # "mannequin" or "smplx"
    view: str = DEFAULT_VIEW  # one of render.framing.VIEWS
    size: tuple[int, int] = DEFAULT_SIZE  # video width, height in pixels


@dataclass
class ServedFiles:
    """The files served for one request (video, motion), and what was said."""

    video: Path | None  # H.264 + AAC mp4 of the body gesturing, with the speech (None: to come)
    motion: Path  # BEAT2 SMPL-X .npz
    bvh: Path  # the same motion as BVH
    glb: Path  # the body skinned to the SMPL-X skeleton, the motion as its animation (glTF)
    vrma: Path  # the motion as a VRM Animation, for any VRM character (the page's or the user's)
    words: list[Word]  # the transcript used, with word timings in seconds
    seed: int  # the seed the gestures were sampled with: the same request with it, same motion
    note: str | None = None  # for the user: word timings estimated, or speech not English
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per step

    @property
    def transcript(self) -> str:
        return " ".join(word.word for word in self.words)


def fresh_seed() -> int:
    """A seed for a request that names none: unpredictable, 0..:data:`MAX_FRESH_SEED`."""
    return check_seed(secrets.randbelow(MAX_FRESH_SEED + 1))


def is_silent(samples: np.ndarray) -> bool:
    """True when no 30 ms window of (N,) samples in [-1, 1] is louder than -60 dBFS."""
    usable = samples[: samples.shape[0] // _RMS_WINDOW * _RMS_WINDOW]
    if usable.size == 0:
        usable = samples
    windows = usable.reshape(-1, min(_RMS_WINDOW, usable.shape[0]))
    return float(np.sqrt((windows.astype(np.float64) ** 2).mean(axis=1)).max()) < SILENCE_RMS


def safe_stem(path: Path, fallback: str = "speech") -> str:
    """A short file-name stem made from an upload's name (letters, digits, _ and - only)."""
    stem = _UNSAFE_NAME_CHARS.sub("_", path.stem).strip("_")[:40]
    return stem or fallback


class GestureService:
    """Pipeline + renderers, loaded once; :meth:`generate` serves one request."""

    def __init__(
        self, pipeline: SemGesPipeline, renderers: Renderers, settings: AppSettings
    ) -> None:
        self.pipeline = pipeline
        self.renderers = renderers
        self.settings = settings
        self.workspace = Workspace(settings.output_root, keep_seconds=settings.keep_minutes * 60.0)
        # The speech models and the generator run one request at a time (they use every core
        # anyway); rendering has its own lock, so one request can render while the next one
        # is being transcribed.
        self._model_lock = threading.Lock()

    def idle_glb(self, max_faces: int | None = None) -> Path:
        """The mannequin at rest as glTF (the page's 3D view until a motion comes), written
        beside the request folders (which alone are cleaned up); with at most ``max_faces``
        triangles where given (the Live page's lighter body)."""
        from webapp.motion_view import IDLE_FILE, IDLE_FOLDER, idle_motion

        name = IDLE_FILE if max_faces is None else f"{Path(IDLE_FILE).stem}-{max_faces}.glb"
        path = self.settings.output_root / IDLE_FOLDER / name
        return self.renderers.write_glb(idle_motion(), path, BODY_MANNEQUIN, max_faces)

    def speaker_names(self) -> list[str]:
        """The speakers the page offers: those the checkpoint was trained on."""
        return self.pipeline.speaker_names()

    def generate(
        self, request: GenerateRequest, progress: OverallProgress | None = None
    ) -> ServedFiles:
        """Serve one request. Raises UserFacingError for anything the user can fix."""
        *_, result = self.generate_steps(request, progress)
        return result

    def generate_steps(
        self, request: GenerateRequest, progress: OverallProgress | None = None
    ) -> Iterator[ServedFiles]:
        """Serve one request in two steps: yields the result without its video (``video`` is
        None) as soon as the motion files are written, then the same result with the video.

        Raises UserFacingError for anything the user can fix (before the first result).
        """
        report = StageProgress(progress or (lambda fraction, words: None))
        speaker_id, seed = self._check_options(request)
        request = replace(request, seed=seed)
        transcript = self._check_transcript(request.transcript)
        report(Stage.LOADING, 0.0)
        speech = self._load_speech(request.audio_path)
        seconds: dict[str, float] = {}

        with self._model_lock:
            started = time.perf_counter()
            try:
                result = self.pipeline(
                    speech,
                    text=transcript,
                    speaker=speaker_id,
                    seed=request.seed,
                    temperature=request.temperature,
                    progress=report,
                )
            except AudioError as error:
                raise UserFacingError(str(error)) from error
        seconds["speech_and_generation"] = time.perf_counter() - started
        if not result.words and transcript is None:
            raise UserFacingError(
                "No speech was found in the recording (this demo understands English speech "
                "only). Speak clearly into the microphone, or type what is said in the "
                "transcript box."
            )
        folder = self.workspace.new_request_dir()
        stem = f"{safe_stem(request.audio_path)}_{request.speaker.lower()}_seed{request.seed}"

        started = time.perf_counter()
        report(Stage.SAVING, 0.0)
        motion_path = export(result.motion, "npz", folder / f"{stem}.npz")
        bvh_path = self.renderers.write_bvh(result.motion, folder / f"{stem}.bvh")
        glb_path = self.renderers.write_glb(result.motion, folder / f"{stem}.glb", request.body)
        vrma_path = export(result.motion, "vrma", folder / f"{stem}.vrma")
        report(Stage.SAVING, 1.0)
        seconds["motion_files"] = time.perf_counter() - started
        note = _user_note(result.features, folder.name)
        served = ServedFiles(
            None,
            motion_path,
            bvh_path,
            glb_path,
            vrma_path,
            result.words,
            seed,
            note,
            dict(seconds),
        )
        yield served

        started = time.perf_counter()
        video = self.renderers.render(
            result.motion,
            folder / f"{stem}.mp4",
            audio_path=request.audio_path,
            size=request.size,
            view=request.view,
            body=request.body,
            progress=report,
        )
        seconds["rendering"] = time.perf_counter() - started
        logger.info(
            "served %s: %.1f s of speech, %d words, speaker %s, seed %d, temperature %.2f, "
            "%s %s %dx%d; %s",
            folder.name,
            speech.duration_s,
            len(result.words),
            request.speaker,
            request.seed,
            request.temperature,
            request.body,
            request.view,
            *request.size,
            ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()),
        )
        return_freed_memory()  # what this request allocated and freed goes back to the OS
        yield replace(served, video=video, seconds=dict(seconds))

    def _check_options(self, request: GenerateRequest) -> tuple[int, int]:
        """Validate everything but the audio, by the rules ``semges`` and ``render`` keep for
        every caller; returns the speaker id and the seed (a fresh one when none is given)."""
        if request.body not in self.renderers.bodies:
            raise UserFacingError(self.renderers.why_unavailable(request.body))
        try:
            speaker = self.pipeline.check_speaker(request.speaker, trained_only=True)
            seed = fresh_seed() if request.seed is None else check_seed(request.seed)
            check_temperature(request.temperature)
            check_view(request.view)
            check_frame_size(request.size, max_side=MAX_VIDEO_SIDE)
        except ValueError as error:
            raise UserFacingError(str(error)) from error
        return speaker, seed

    def _check_transcript(self, transcript: str | None) -> str | None:
        """The typed transcript, stripped (None when blank); refuses one above the word limit."""
        text = (transcript or "").strip()
        limit = self.settings.max_transcript_words
        words = len(text.split())
        if words > limit or len(text) > limit * MAX_CHARS_PER_WORD:
            size = f"{words:,} words" if words > limit else f"{len(text):,} characters"
            raise UserFacingError(
                f"The transcript is too long ({size}). This demo accepts at most {limit:,} "
                "words: type only what is said in the recording, or leave the box empty."
            )
        return text or None

    def _load_speech(self, audio_path: Path | None) -> Audio:
        """The request's speech, decoded once (16 kHz mono); UserFacingError says what is wrong.

        The file's size is checked before anything decodes it; every later stage takes the
        decoded :class:`Audio`.
        """
        if audio_path is None or not str(audio_path).strip():
            raise UserFacingError("Please record or upload some speech first.")
        try:
            size = Path(audio_path).stat().st_size
        except FileNotFoundError:
            raise UserFacingError(
                "The recording is no longer on the server (files are kept for "
                f"{self.settings.keep_minutes} minutes). Please upload or record it again, or "
                "click the example again."
            ) from None
        if size > self.settings.max_upload_bytes:
            raise UserFacingError(
                f"The file is too large ({size / BYTES_PER_MB:,.0f} MB). This demo accepts "
                f"files up to {self.settings.max_upload_mb} MB and speech up to "
                f"{self.settings.max_audio_seconds} s: please upload a shorter clip."
            )
        try:
            speech = decode_audio(audio_path, max_duration_s=self.settings.max_audio_seconds)
        except AudioError as error:
            message = _audio_message(error, self.settings.max_audio_seconds)
            raise UserFacingError(message) from error
        if is_silent(speech.samples):
            raise UserFacingError(
                "The recording is silent: no speech was found. Check the microphone and try again."
            )
        return speech


def _user_note(features: SpeechFeatures, request_name: str) -> str | None:
    """What the user should know about a served request, in plain words (None: nothing).

    The operator gets the technical detail in the log, the user plain words.
    """
    notes = []
    if features.language_note:
        logger.info("%s: %s", request_name, features.language_note)
        notes.append(NOT_ENGLISH)
    if features.alignment_note:
        logger.info("%s: %s", request_name, features.alignment_note)
        notes.append(TIMINGS_ESTIMATED)
    return " ".join(notes) or None


def _audio_message(error: AudioError, max_seconds: int) -> str:
    """The front-end's message, with what to do about it where that helps."""
    from semges.speech.audio import AudioTooLongError, NotAudioError

    if isinstance(error, AudioTooLongError):
        return f"{error}. Please use a clip of at most {max_seconds} s: this demo runs on a CPU."
    if isinstance(error, NotAudioError):
        return f"{error}. Please upload speech as wav, mp3, flac, ogg or m4a."
    return str(error)
