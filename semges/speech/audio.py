"""Load the audio people bring and turn it into 16 kHz mono float32 samples.

Accepted: a path to any common audio file (wav 16/24-bit PCM or 32-bit float, flac, ogg/opus,
mp3, webm from browser microphones, m4a/aac, ...), mono or stereo, any sample rate; or an
in-memory ``(samples, sample_rate)`` tuple, in either order (Gradio's microphone gives
``(sample_rate, int16 array)``). soundfile reads what libsndfile can; everything else is decoded
by the ffmpeg binary shipped in ``imageio-ffmpeg``. Channels are averaged and the signal is
resampled with soxr.

Every problem with the input raises a subclass of :class:`AudioError` (a ``ValueError``) whose
message can be shown to a user as it is.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semges import layout

logger = logging.getLogger(__name__)

SAMPLE_RATE: int = 16_000
"""Sample rate of everything the speech front-end consumes (Hz); Whisper's rate."""

MIN_DURATION_S: float = 0.3
"""Shorter input carries no usable speech (and no motion worth generating)."""

DEFAULT_MAX_DURATION_S: float = 600.0
"""Default upper bound on input length (10 minutes); configurable per call."""

AUDIO_SUFFIXES: tuple[str, ...] = (
    ".wav",
    ".flac",
    ".mp3",
    ".ogg",
    ".opus",
    ".webm",
    ".m4a",
    ".aac",
    ".wave",
    ".oga",
    ".mp4",
    ".mka",
    ".aif",
    ".aiff",
    ".wma",
    ".amr",
)
"""File name endings (lower case) that promise audio: a file named so that fails to decode is
called damaged rather than not audio."""
FOLDER_SPEECH_SUFFIXES: tuple[str, ...] = AUDIO_SUFFIXES[:8]
"""The common speech formats a batch takes from a folder (:mod:`semges.batch`), in the order a
motion's speech is looked for; a folder's videos (.mp4) and rarer formats are left alone."""

_FFMPEG_TIMEOUT_S = 300.0


@dataclass(frozen=True, eq=False)
class Audio:
    """One decoded recording: what every stage after decoding takes, so a file is decoded once.

    ``samples``: (N,) float32 mono in [-1, 1] at ``sample_rate`` Hz (:data:`SAMPLE_RATE` when
    made by :func:`decode_audio`). ``source``: the file it came from, or None for a recording
    given in memory (then nothing can be read again from disk, e.g. to mux it into a video).
    """

    samples: np.ndarray
    sample_rate: int = SAMPLE_RATE
    source: Path | None = None

    def __post_init__(self) -> None:
        if self.samples.ndim != 1 or self.samples.dtype != np.float32:
            raise ValueError(
                f"Audio samples must be (N,) float32, got {self.samples.shape} {self.samples.dtype}"
            )

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.samples.shape[0] / self.sample_rate

    @property
    def num_motion_frames(self) -> int:
        """Motion frames for this audio: exactly ``round(duration_s * FPS)``."""
        return num_motion_frames(self.samples, self.sample_rate)


AudioInput = str | os.PathLike | tuple | Audio
"""A file path, an in-memory ``(samples, sample_rate)`` / ``(sample_rate, samples)`` pair, or
an already decoded :class:`Audio`."""


class AudioError(ValueError):
    """The audio input cannot be used; the message says why, in words for a user."""


class NotAudioError(AudioError):
    """The input holds no audio stream (a text file, an image, a video without sound, ...)."""


class EmptyAudioError(AudioError):
    """The input decodes to no samples at all."""


class AudioTooShortError(AudioError):
    """The input is shorter than :data:`MIN_DURATION_S`."""


class AudioTooLongError(AudioError):
    """The input is longer than the configured maximum duration."""


class UnreadableAudioError(AudioError):
    """The file is missing, cannot be opened, or is damaged so it cannot be decoded."""


def decode_audio(source: AudioInput, max_duration_s: float = DEFAULT_MAX_DURATION_S) -> Audio:
    """Decode ``source`` once into :class:`Audio` at :data:`SAMPLE_RATE` (an :class:`Audio`
    already at that rate is checked and returned as it is).

    Raises a subclass of :class:`AudioError` when the input is not audio, empty, shorter than
    :data:`MIN_DURATION_S`, longer than ``max_duration_s`` seconds, or unreadable.
    """
    path = None
    if isinstance(source, Audio):
        samples, sample_rate, path = source.samples, source.sample_rate, source.source
        name = path.name if path is not None else "the recording"
    elif isinstance(source, tuple):
        samples, sample_rate = _split_pair(source)
        name = "the recording"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        samples, sample_rate = _read_file(path, max_duration_s)
        name = path.name
    else:
        raise TypeError(
            f"audio must be a file path or a (samples, sample_rate) pair, got {type(source)!r}"
        )
    mono = _to_float_mono(samples, name)
    _check_duration(mono.shape[0] / sample_rate, name, max_duration_s)
    if isinstance(source, Audio) and sample_rate == SAMPLE_RATE:
        return source
    return Audio(resample(mono, sample_rate, SAMPLE_RATE), SAMPLE_RATE, path)


def load_audio(source: AudioInput, max_duration_s: float = DEFAULT_MAX_DURATION_S) -> np.ndarray:
    """(N,) float32 mono samples at :data:`SAMPLE_RATE` of ``source`` (see :func:`decode_audio`)."""
    return decode_audio(source, max_duration_s).samples


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """(N,) float32 at ``rate_in`` Hz -> (M,) float32 at ``rate_out`` Hz (soxr, high quality)."""
    if rate_in == rate_out:
        return np.ascontiguousarray(samples, dtype=np.float32)
    import soxr

    return soxr.resample(samples, rate_in, rate_out, quality="HQ").astype(np.float32)


def duration_s(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """Length of ``samples`` in seconds."""
    return samples.shape[0] / sample_rate


def num_motion_frames(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> int:
    """Motion frames for this audio: exactly ``round(duration_s * FPS)``."""
    return layout.num_motion_frames(samples.shape[0], sample_rate)


def _split_pair(pair: tuple) -> tuple[np.ndarray, int]:
    """Accept (samples, rate) or (rate, samples); return (array, rate)."""
    if len(pair) != 2:
        raise TypeError("an in-memory recording must be a (samples, sample_rate) pair")
    first, second = pair
    if np.isscalar(first) and not np.isscalar(second):
        first, second = second, first
    if not np.isscalar(second):
        raise TypeError("an in-memory recording must be a (samples, sample_rate) pair")
    sample_rate = int(second)
    if sample_rate <= 0 or sample_rate != second:
        raise NotAudioError(f"the recording's sample rate {second!r} is not a positive integer")
    return np.asarray(first), sample_rate


def _read_file(path: Path, max_duration_s: float) -> tuple[np.ndarray, int]:
    """Decode a file to (N, C) or (N,) samples and its sample rate."""
    if not path.exists():
        raise UnreadableAudioError(f"audio file not found: {path}")
    if path.is_dir():
        raise UnreadableAudioError(f"{path} is a folder, not an audio file")
    if not os.access(path, os.R_OK):
        raise UnreadableAudioError(f"{path.name} cannot be opened (no read permission)")
    if path.stat().st_size == 0:
        raise EmptyAudioError(f"{path.name} is an empty file")
    import soundfile

    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        info = None  # not a format libsndfile knows: let ffmpeg try
    if info is not None:
        _check_duration(info.frames / info.samplerate, path.name, max_duration_s)
        try:
            samples, sample_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
            return samples, int(sample_rate)
        except (soundfile.LibsndfileError, RuntimeError) as error:
            logger.info("soundfile could not decode %s (%s); trying ffmpeg", path, error)
    return _read_with_ffmpeg(path, max_duration_s)


def _read_with_ffmpeg(path: Path, max_duration_s: float) -> tuple[np.ndarray, int]:
    """Decode with the bundled ffmpeg into a temporary float WAV at the file's own rate.

    Decoding stops shortly after ``max_duration_s`` so a huge file costs no more than that.
    """
    import imageio_ffmpeg
    import soundfile

    with tempfile.TemporaryDirectory(prefix="semges-audio-") as folder:
        decoded = Path(folder) / "decoded.wav"
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-vn",
            "-t",
            f"{max_duration_s + 1.0:.3f}",
            "-c:a",
            "pcm_f32le",
            "-f",
            "wav",
            str(decoded),
        ]
        try:
            result = subprocess.run(command, capture_output=True, timeout=_FFMPEG_TIMEOUT_S)
        except subprocess.TimeoutExpired as error:
            raise UnreadableAudioError(f"decoding {path.name} took too long") from error
        message = result.stderr.decode("utf-8", "replace").strip()
        if result.returncode != 0 or not decoded.exists():
            logger.info("ffmpeg could not decode %s: %s", path, message)
            raise _ffmpeg_error(path, message)
        try:
            samples, sample_rate = soundfile.read(str(decoded), dtype="float32", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError) as error:
            raise EmptyAudioError(f"{path.name} holds no audio samples") from error
    return samples, int(sample_rate)


def _ffmpeg_error(path: Path, message: str) -> AudioError:
    """Map ffmpeg's complaint to the error a user should see."""
    lowered = message.lower()
    no_stream = (
        "matches no streams" in lowered
        or "does not contain any stream" in lowered
        or "output file #0 does not contain" in lowered
        or "output file does not contain any stream" in lowered
    )
    not_media = "invalid data found when processing input" in lowered
    if no_stream:
        return NotAudioError(f"{path.name} is not an audio file: it has no audio track")
    if not_media and not _looks_like_audio(path):
        return NotAudioError(f"{path.name} is not an audio file")
    return UnreadableAudioError(f"{path.name} could not be decoded; is the file damaged?")


def _looks_like_audio(path: Path) -> bool:
    """Whether the name promises audio: then a decode failure means a damaged file."""
    return path.suffix.lower() in AUDIO_SUFFIXES


def _to_float_mono(samples: np.ndarray, name: str) -> np.ndarray:
    """(N,), (N, C) integer or float samples -> (N,) float32 in [-1, 1], channels averaged."""
    if samples.size == 0:
        raise EmptyAudioError(f"{name} holds no audio samples")
    if samples.ndim == 2 and samples.shape[0] < samples.shape[1] and samples.shape[0] <= 8:
        samples = samples.T  # (C, N) as some libraries hand it: make it (N, C)
    if samples.ndim not in (1, 2):
        raise NotAudioError(f"{name} is not a sound signal (array of shape {samples.shape})")
    if np.issubdtype(samples.dtype, np.integer):
        info = np.iinfo(samples.dtype)
        offset = (info.max + 1) / 2 if info.min == 0 else 0.0  # unsigned PCM (8-bit wav)
        samples = (samples.astype(np.float64) - offset) / (info.max + 1 - offset)
    elif not np.issubdtype(samples.dtype, np.floating):
        raise NotAudioError(f"{name} is not a sound signal (dtype {samples.dtype})")
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    mono = np.asarray(mono, dtype=np.float32)
    if not np.all(np.isfinite(mono)):
        raise UnreadableAudioError(f"{name} contains invalid (NaN or infinite) samples")
    return mono


def _check_duration(seconds: float, name: str, max_duration_s: float) -> None:
    if seconds <= 0:
        raise EmptyAudioError(f"{name} holds no audio samples")
    if seconds < MIN_DURATION_S:
        raise AudioTooShortError(
            f"{name} is {seconds:.2f} s long; speech must be at least {MIN_DURATION_S} s"
        )
    if seconds > max_duration_s:
        raise AudioTooLongError(
            f"{name} is longer than the {_format_duration(max_duration_s)} allowed"
        )


def _format_duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} s"
