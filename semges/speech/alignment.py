"""Forced alignment of a user's transcript to speech with the same Whisper model.

No external aligner: the user's words are tokenised with Whisper's tokenizer and forced
through the decoder; CTranslate2's ``Whisper.align`` runs dynamic time warping over the
cross-attention of the model's alignment heads, exactly as Whisper's own word timestamps do,
so each word gets the time span its tokens attend to.

Whisper sees 30 s at a time. The front-end's recognition (on its shared encoder windows) first
gives rough times for the words it recognises (matched to the user's words by sequence
alignment of normalised spellings); the other words are placed by interpolation over
characters. The audio is then cut into windows of at most 30 s at pauses between words, the
last one ending shortly after the last word (so a transcript of only part of the speech is not
stretched over all of it), and each window is aligned on its own. A window whose alignment
fails (tokens the decoder finds implausible, or more text than audio) falls back to
spreading its words over the voiced parts of that window; the result says so.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from semges.speech.audio import SAMPLE_RATE
from semges.speech.types import Word
from semges.speech.transcription import TimingRefinement, refine_word_times

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

logger = logging.getLogger(__name__)

WINDOW_S: float = 30.0
"""Whisper's input window (seconds)."""

MAX_TEXT_TOKENS: int = 440
"""Whisper's decoder holds 448 positions; a few go to the start sequence and end token."""

MIN_TOKEN_PROBABILITY: float = 0.05
"""Below this median decoder probability of the forced tokens, the text does not match the
speech (measured on BEAT2 speech: about 0.99 for the right text, under 0.01 for unrelated)."""

_LEAD_S = 1.0  # a window starts this long before its first word when it follows silence
_SAFETY_S = 1.0  # room left at a window's end for errors in the rough word times
_TAIL_S = 2.0  # audio kept after the last word's rough end


@dataclass(frozen=True)
class AlignmentResult:
    """The user's words with times; ``note`` says why some times are a fallback, else None."""

    words: list[Word]
    note: str | None = None


class _AlignmentFailed(Exception):
    """One window could not be aligned; the message says why."""


def align_text(
    whisper: "WhisperModel",
    samples: np.ndarray,
    text: str,
    speech: np.ndarray,
    rough_words: list[Word],
    language: str | None = "en",
    refinement: TimingRefinement = TimingRefinement(),
    mel: np.ndarray | None = None,
) -> AlignmentResult:
    """Time every whitespace-separated word of ``text`` in (N,) float32 16 kHz ``samples``.

    ``speech``: (K, 2) non-silent intervals in seconds (see
    :func:`semges.speech.transcription.speech_intervals`). ``rough_words``: Whisper's words
    for the clip (:mod:`semges.speech.recognition`), which place the windows; ``mel``: the clip's
    log-mel (:func:`semges.speech.encoder.log_mel`) when already computed. The returned words
    are exactly ``text.split()``, in order, with times in seconds inside the audio.
    """
    from faster_whisper.tokenizer import Tokenizer

    words = text.split()
    if not words:
        return AlignmentResult([])
    duration = samples.shape[0] / SAMPLE_RATE
    multilingual = whisper.model.is_multilingual
    tokenizer = Tokenizer(
        whisper.hf_tokenizer, multilingual, task="transcribe",
        language=(language or "en") if multilingual else None,
    )  # fmt: skip
    if mel is None:
        from semges.speech.encoder import log_mel

        mel = log_mel(whisper, samples)  # (n_mels, frames) at 100 frames/s, global scale
    frames_per_second = SAMPLE_RATE / whisper.feature_extractor.hop_length

    est_start, est_end = _rough_times(words, rough_words, speech, duration)
    plan = _plan_windows(est_start, est_end, duration)

    timed: list[Word] = []
    failed = 0
    reasons: set[str] = set()
    for first, last, start_s, end_s in plan:
        chunk_words = words[first:last]
        segment = mel[:, round(start_s * frames_per_second) : round(end_s * frames_per_second)]
        try:
            starts, ends = _align_window(whisper, tokenizer, segment, chunk_words)
        except _AlignmentFailed as error:
            logger.info("alignment failed for words %d-%d: %s", first, last, error)
            failed += len(chunk_words)
            reasons.add(str(error))
            timed.extend(spread_over_speech(chunk_words, start_s, end_s, speech))
            continue
        raw = [Word(w, start_s + s, start_s + e) for w, s, e in zip(chunk_words, starts, ends)]
        timed.extend(refine_word_times(raw, speech, duration, refinement))

    timed = _ordered(timed, duration)
    note = None
    if failed:
        note = (
            f"forced alignment failed for {failed} of {len(words)} words "
            f"({'; '.join(sorted(reasons))}); their times were spread over the voiced "
            "parts of the audio"
        )
    return AlignmentResult(timed, note)


def _align_window(
    whisper: "WhisperModel", tokenizer, segment: np.ndarray, words: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Align ``words`` to one window of log-mel frames; (W,) start and end seconds in it."""
    from faster_whisper.audio import pad_or_trim

    num_frames = segment.shape[1]
    if num_frames == 0:
        raise _AlignmentFailed("no audio in the window")
    word_tokens = [tokenizer.encode(" " + word) for word in words]
    text_tokens = [token for tokens in word_tokens for token in tokens]
    if len(text_tokens) > MAX_TEXT_TOKENS:
        raise _AlignmentFailed("more text than the speech can hold")
    encoder_output = whisper.encode(pad_or_trim(segment))
    result = whisper.model.align(
        encoder_output, tokenizer.sot_sequence, [text_tokens], num_frames
    )[0]
    probability = float(np.median(result.text_token_probs)) if text_tokens else 0.0
    if probability < MIN_TOKEN_PROBABILITY:
        raise _AlignmentFailed(f"the text does not match the speech (p={probability:.3f})")
    path = np.asarray(result.alignments, dtype=np.int64).reshape(-1, 2)
    jumps = np.diff(path[:, 0], prepend=-1) > 0  # first time step of each token
    jump_times = path[jumps, 1] / whisper.tokens_per_second  # len(text_tokens) + 1 (EOT)
    boundaries = np.concatenate([[0], np.cumsum([len(t) for t in word_tokens])])
    if jump_times.shape[0] < boundaries[-1] + 1:
        raise _AlignmentFailed("the alignment path is incomplete")
    return jump_times[boundaries[:-1]], jump_times[boundaries[1:]]


def normalize_word(word: str) -> str:
    """Lower-case letters, digits and apostrophes only: how spellings are compared."""
    return re.sub(r"[^\w']+", "", word.lower()).strip("'_")


def match_words(reference: list[str], hypothesis: list[str]) -> list[tuple[int, int]]:
    """(i, j) pairs of reference and hypothesis words that a sequence alignment matches."""
    matcher = difflib.SequenceMatcher(
        None, [normalize_word(w) for w in reference], [normalize_word(w) for w in hypothesis],
        autojunk=False,
    )  # fmt: skip
    return [
        (block.a + k, block.b + k)
        for block in matcher.get_matching_blocks()
        for k in range(block.size)
    ]


def _rough_times(
    words: list[str], rough: list[Word], speech: np.ndarray, duration: float
) -> tuple[np.ndarray, np.ndarray]:
    """Estimated (W,) start and end seconds of the user's words, for planning windows.

    Words the transcription matched take its times; the others are interpolated over
    character positions between matched neighbours, and extrapolated past the first and last
    match at the matched words' speaking rate (seconds per character), within the speech.
    """
    lengths = np.array([len(w) + 1 for w in words], np.float64)
    char_end = np.cumsum(lengths) - 1.0  # just after the word, before its space
    char_start = char_end + 1.0 - lengths
    first = float(speech[0, 0]) if len(speech) else 0.0
    last = float(speech[-1, 1]) if len(speech) else duration
    xs: list[float] = []
    ts: list[float] = []
    for i, j in match_words(words, [w.word for w in rough]):
        for x, t in ((char_start[i], rough[j].start), (char_end[i], rough[j].end)):
            if not xs or (x > xs[-1] and t >= ts[-1]):
                xs.append(float(x))
                ts.append(t)
    if len(xs) < 2:  # nothing to go by: spread the text over the speech
        xs, ts = [0.0, float(char_end[-1])], [first, last]
    rate = (ts[-1] - ts[0]) / max(xs[-1] - xs[0], 1.0)
    if xs[0] > 0:
        xs.insert(0, 0.0)
        ts.insert(0, max(first, ts[0] - rate * xs[1]))
    if char_end[-1] > xs[-1]:
        ts.append(min(last, ts[-1] + rate * (char_end[-1] - xs[-1])))
        xs.append(float(char_end[-1]))
    return np.interp(char_start, xs, ts), np.interp(char_end, xs, ts)


def _plan_windows(
    est_start: np.ndarray, est_end: np.ndarray, duration: float
) -> list[tuple[int, int, float, float]]:
    """Cut the audio into windows of at most :data:`WINDOW_S` at pauses between words.

    Returns (first word, end word (exclusive), start s, end s) per window; every word is in
    exactly one window. Within a window's second half the cut goes at the longest pause.
    """
    plan: list[tuple[int, int, float, float]] = []
    num_words = len(est_start)
    first, window_start = 0, 0.0
    while first < num_words:
        window_start = max(window_start, float(est_start[first]) - _LEAD_S)
        window_end = min(duration, window_start + WINDOW_S)
        limit = window_end - _SAFETY_S
        if est_end[-1] <= limit or window_end >= duration:
            # the last window ends shortly after the last word: warping must not stretch the
            # words over trailing audio they do not cover
            tail_end = min(window_end, float(est_end[-1]) + _TAIL_S)
            end = min(duration, max(tail_end, window_start + _TAIL_S))
            plan.append((first, num_words, window_start, end))
            break
        best, best_score = first, -np.inf
        for j in range(first, num_words - 1):
            cut = 0.5 * (est_end[j] + est_start[j + 1])
            if cut > limit:
                break
            late = cut - window_start >= WINDOW_S / 2
            score = (est_start[j + 1] - est_end[j]) + (WINDOW_S if late else 0.0) + 1e-3 * cut
            if score > best_score:
                best, best_score = j, score
        cut = float(np.clip(0.5 * (est_end[best] + est_start[best + 1]), window_start, limit))
        if cut <= window_start:  # the first word alone overruns the window: cut it hard
            cut = window_end
        plan.append((first, best + 1, window_start, cut))
        first, window_start = best + 1, cut
    return plan


def spread_over_speech(
    words: list[str], start_s: float, end_s: float, speech: np.ndarray
) -> list[Word]:
    """Fallback timing: lay ``words`` over the voiced parts of [start_s, end_s] in order,

    each taking time in proportion to its length in characters (plus one for the space).
    """
    if not words:
        return []
    intervals = np.clip(np.asarray(speech, np.float64).reshape(-1, 2), start_s, end_s)
    intervals = intervals[intervals[:, 1] > intervals[:, 0]]
    if len(intervals) == 0:
        intervals = np.array([[start_s, end_s]], np.float64)
    voiced = np.concatenate([[0.0], np.cumsum(intervals[:, 1] - intervals[:, 0])])
    weights = np.array([len(w) + 1 for w in words], np.float64)
    positions = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * voiced[-1]

    def to_time(position: float, is_end: bool) -> float:
        side = "left" if is_end else "right"
        k = int(np.clip(np.searchsorted(voiced, position, side=side) - 1, 0, len(intervals) - 1))
        return float(intervals[k, 0] + position - voiced[k])

    return [
        Word(w, to_time(positions[i], False), to_time(positions[i + 1], True))
        for i, w in enumerate(words)
    ]


def _ordered(words: list[Word], duration: float) -> list[Word]:
    """Clamp times into [0, duration] and make starts non-decreasing, ends >= starts."""
    result: list[Word] = []
    previous = 0.0
    for word in words:
        start = min(max(word.start, previous, 0.0), duration)
        end = min(max(word.end, start), duration)
        result.append(Word(word.word, start, end))
        previous = start
    return result
