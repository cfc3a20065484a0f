"""Forced alignment of a user's transcript to speech with the same Whisper model.

No external aligner: the user's words are tokenised with Whisper's tokenizer and forced
through the decoder; CTranslate2's ``Whisper.align`` runs dynamic time warping over the
cross-attention of the model's alignment heads, exactly as Whisper's own word timestamps do,
so each word gets the time span its tokens attend to.

Whisper sees 30 s at a time, and alignment reuses the front-end's one encoder pass: the
fixed windows of :mod:`semges.speech.encoder` (30 s every 20 s). The front-end's recognition
on those windows first gives rough times for the words it recognises (matched to the user's
words by sequence alignment of normalised spellings); the other words are placed by
interpolation over characters. Each window owns the words whose rough centre lies in its
middle (up to half the overlap from either neighbour), and aligns them together with every
word around them that it hears, so the warping path's forced start (the window's first frame)
and end fall on words another window owns. The last window's path ends shortly after the last
word, so a transcript of only part of the speech is not stretched over all of it. A window
whose alignment fails (tokens the decoder finds implausible, or more text than audio) falls
back to spreading its words over the voiced parts of its share of the audio; the result says
so.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from semges.speech.audio import SAMPLE_RATE
from semges.speech.encoder import ENCODER_WINDOW_S, EncodedWindow
from semges.speech.transcription import TimingRefinement, refine_word_times
from semges.speech.types import Word

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

logger = logging.getLogger(__name__)

MAX_TEXT_TOKENS: int = 440
"""Whisper's decoder holds 448 positions; a few go to the start sequence and end token."""

MIN_TOKEN_PROBABILITY: float = 0.05
"""Below this median decoder probability of the forced tokens, the text does not match the
speech (measured on BEAT2 speech: about 0.99 for the right text, under 0.01 for unrelated)."""

_TAIL_S = 2.0  # audio kept after the last word's rough end


@dataclass(frozen=True)
class AlignmentResult:
    """The user's words with times; ``note`` says why some times are a fallback, else None."""

    words: list[Word]
    note: str | None = None


class _AlignmentFailed(Exception):
    """One window could not be aligned; the message says why."""


def align_text(
    whisper: WhisperModel,
    windows: Sequence[EncodedWindow],
    text: str,
    speech: np.ndarray,
    rough_words: list[Word],
    duration_s: float,
    language: str | None = "en",
    refinement: TimingRefinement = TimingRefinement(),
) -> AlignmentResult:
    """Time every whitespace-separated word of ``text`` in a clip of ``duration_s`` seconds.

    ``windows``: the clip's encoder windows (:func:`semges.speech.encoder.encode_windows`).
    ``speech``: (K, 2) non-silent intervals in seconds (see
    :func:`semges.speech.transcription.speech_intervals`). ``rough_words``: Whisper's words
    for the clip (:mod:`semges.speech.recognition`), which place the user's words in the
    windows. The returned words are exactly ``text.split()``, in order, with times in seconds
    inside the audio.
    """
    from faster_whisper.tokenizer import Tokenizer

    words = text.split()
    if not words:
        return AlignmentResult([])
    multilingual = whisper.model.is_multilingual
    tokenizer = Tokenizer(
        whisper.hf_tokenizer,
        multilingual,
        task="transcribe",
        language=(language or "en") if multilingual else None,
    )
    frames_per_second = SAMPLE_RATE / whisper.feature_extractor.hop_length
    est_start, est_end = _rough_times(words, rough_words, speech, duration_s)
    owners = _owning_windows(0.5 * (est_start + est_end), windows)

    timed: list[Word] = []
    failed = 0
    reasons: set[str] = set()
    for index, window in enumerate(windows):
        owned = np.flatnonzero(owners == index)
        if owned.size == 0:
            continue
        heard = np.flatnonzero((est_end > window.start_s) & (est_start < window.end_s))
        first = int(min(owned[0], heard[0] if heard.size else owned[0]))
        last = int(max(owned[-1], heard[-1] if heard.size else owned[-1])) + 1
        end_s = min(window.end_s, max(float(est_end[last - 1]) + _TAIL_S, window.start_s + _TAIL_S))
        num_frames = round((end_s - window.start_s) * frames_per_second)
        owned_words = [words[i] for i in owned]
        try:
            starts, ends = _align_window(whisper, tokenizer, window, num_frames, words[first:last])
        except _AlignmentFailed as error:
            logger.info("alignment failed for words %d-%d: %s", owned[0], owned[-1] + 1, error)
            failed += owned.size
            reasons.add(str(error))
            share = _owned_span(index, windows, duration_s)
            timed.extend(spread_over_speech(owned_words, share[0], min(share[1], end_s), speech))
            continue
        raw = [
            Word(word, window.start_s + starts[i - first], window.start_s + ends[i - first])
            for word, i in zip(owned_words, owned)
        ]
        timed.extend(refine_word_times(raw, speech, duration_s, refinement))

    timed = _ordered(timed, duration_s)
    note = None
    if failed:
        note = (
            f"forced alignment failed for {failed} of {len(words)} words "
            f"({'; '.join(sorted(reasons))}); their times were spread over the voiced "
            "parts of the audio"
        )
    return AlignmentResult(timed, note)


def _owning_windows(centres: np.ndarray, windows: Sequence[EncodedWindow]) -> np.ndarray:
    """(W,) index of the window that owns each word: the one whose middle holds its centre."""
    return np.searchsorted(_share_boundaries(windows), centres, side="right")


def _share_boundaries(windows: Sequence[EncodedWindow]) -> np.ndarray:
    """Seconds where one window's share of the clip ends and the next one's begins: the middle
    of their overlap."""
    return np.array(
        [
            0.5 * (later.start_s + earlier.start_s + ENCODER_WINDOW_S)
            for earlier, later in zip(windows, windows[1:])
        ]
    )


def _owned_span(
    index: int, windows: Sequence[EncodedWindow], duration_s: float
) -> tuple[float, float]:
    """(start, end) seconds of window ``index``'s share of the clip."""
    edges = [0.0, *_share_boundaries(windows).tolist(), duration_s]
    return edges[index], edges[index + 1]


def _align_window(
    whisper: WhisperModel, tokenizer, window: EncodedWindow, num_frames: int, words: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Align ``words`` to the first ``num_frames`` log-mel frames of an encoded window;
    (W,) start and end seconds in it."""
    if num_frames <= 0:
        raise _AlignmentFailed("no audio in the window")
    word_tokens = [tokenizer.encode(" " + word) for word in words]
    text_tokens = [token for tokens in word_tokens for token in tokens]
    if len(text_tokens) > MAX_TEXT_TOKENS:
        raise _AlignmentFailed("more text than the speech can hold")
    result = whisper.model.align(window.output, tokenizer.sot_sequence, [text_tokens], num_frames)[
        0
    ]
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
        None,
        [normalize_word(w) for w in reference],
        [normalize_word(w) for w in hypothesis],
        autojunk=False,
    )
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
