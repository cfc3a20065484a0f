"""Whisper recognition on the clip's shared encoder windows: one decode per window, no re-encode.

The audio features need Whisper's encoder states on fixed 30 s windows every 20 s
(:mod:`semges.speech.encoder`). :class:`WindowRecogniser` decodes words from those same
encoder outputs with faster-whisper's decoding steps (temperature fallback, timestamp
segments, word times by attention warping), so a clip is encoded once for both.

Each window is decoded from its start, like a Whisper seek. Its words are kept between two
cuts: the middle of its overlap with the previous and the next window (each word is then
decoded with at least 5 s of context on either side), and never past the end of its last
complete segment. Where no window covers a stretch (a window whose decoding stopped early),
one extra window is encoded there (unless only silence is left).

Instead of cutting out non-speech with a VAD before decoding (which would change what the
encoder sees), words that lie wholly in silence (:func:`semges.speech.transcription.speech_intervals`)
are dropped: that is where Whisper invents text. Windows Whisper judges to hold no speech are
skipped, as faster-whisper does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from semges.speech.encoder import ENCODER_OVERLAP_S, MEL_FRAME_S, EncodedWindow
from semges.speech.transcription import Recognition, mean_token_logprob
from semges.speech.types import Word

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

logger = logging.getLogger(__name__)

LEAD_S: float = 1.0
"""A window's words are used from this long after its start at the earliest (a word cut by
the window's edge is not)."""
MIN_PROGRESS_S: float = 0.5
"""A window whose complete segments end less than this after the cut cannot take over."""
DUPLICATE_OVERLAP: float = 0.5
"""Where two windows' words meet, a word overlapping the last word taken by this fraction of
the shorter one is the same word decoded twice."""
SILENCE_TOLERANCE_S: float = 0.1
"""A word is dropped as invented when it lies this far or more from any speech."""

FALLBACK_TEMPERATURES: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # faster-whisper's
_NO_SPEECH_THRESHOLD = 0.6  # faster-whisper's defaults for the no-speech and fallback tests
_LOG_PROB_THRESHOLD = -1.0
_COMPRESSION_RATIO_THRESHOLD = 2.4
_BEST_OF = 5
_MAX_INITIAL_TIMESTAMP_S = 1.0
_PREPEND_PUNCTUATIONS = "\"'“¿([{-"
_APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"


@dataclass(frozen=True)
class DecodedWindow:
    """Words decoded from one encoder window (times in seconds on the clip's timeline).

    ``complete_s``: where its last complete segment ends (its words after that are not
    trusted). ``avg_logprob``, ``num_tokens``: Whisper's confidence and the tokens it is over.
    """

    start_s: float
    end_s: float
    complete_s: float
    words: tuple[Word, ...]
    avg_logprob: float
    num_tokens: int


class WindowRecogniser:
    """Decodes the shared encoder windows of one clip into words (see the module docstring).

    ``mel``: the clip's (n_mels, M) log-mel (:func:`semges.speech.encoder.log_mel`), used only
    to encode an extra window where decoding left a gap. Feed every window to :meth:`add`,
    then call :meth:`finish`.
    """

    def __init__(
        self,
        whisper: WhisperModel,
        mel: np.ndarray,
        language: str | None = "en",
        beam_size: int = 1,
        temperature_fallback: bool = True,
        max_new_tokens: int | None = None,
    ) -> None:
        self.whisper = whisper
        self.max_new_tokens = max_new_tokens
        self.mel = mel
        self.multilingual = bool(whisper.model.is_multilingual)
        self.language = language if self.multilingual else None
        self.beam_size = beam_size
        self.temperature_fallback = temperature_fallback
        self._tokenizer = None
        self._options = None
        self._windows: list[DecodedWindow] = []

    def add(self, window: EncodedWindow) -> None:
        """Decode one encoder window (in clip order)."""
        self._windows.append(self.decode(window))

    def finish(self, speech: np.ndarray, duration_s: float) -> Recognition:
        """The clip's words from the decoded windows; ``speech``: (K, 2) non-silent intervals
        in seconds (words wholly outside them are dropped)."""
        words: list[Word] = []
        used: list[DecodedWindow] = []
        cursor, fixed = 0.0, sorted(self._windows, key=lambda w: w.start_s)
        while cursor < duration_s:
            window = _covering(fixed, cursor)
            if window is None and not (speech[:, 1] > cursor + MIN_PROGRESS_S).any():
                break  # only silence is left: nothing to decode
            if window is None:
                window = self.decode(self._extra_window(cursor))
                logger.debug("decoding left a gap at %.2f s: one extra window", cursor)
            later = [w for w in fixed if w.start_s > window.start_s]
            cut = window.complete_s
            if later and window.complete_s < duration_s:
                cut = min(cut, later[0].start_s + ENCODER_OVERLAP_S / 2)
            cut = max(cut, cursor + MIN_PROGRESS_S)
            taken = [w for w in window.words if cursor <= w.start < cut]
            if words and taken and same_word(words[-1], taken[0]):
                taken = taken[1:]
            words.extend(taken)
            used.append(window)
            cursor = cut
        words = [w for w in words if _near_speech(w, speech)]
        mean, num_tokens = mean_token_logprob(
            [w.avg_logprob for w in used], [w.num_tokens for w in used]
        )
        english_only = not self.multilingual or self.language == "en"
        return Recognition(words, mean, num_tokens, english_only)

    def _extra_window(self, start_s: float) -> EncodedWindow:
        from faster_whisper.audio import pad_or_trim

        start = round(start_s / MEL_FRAME_S)
        size = self.whisper.feature_extractor.nb_max_frames
        segment = self.mel[:, start : start + size]
        return EncodedWindow(-1, start, segment.shape[1], self.whisper.encode(pad_or_trim(segment)))

    def _setup(self, window: EncodedWindow) -> None:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

        language = self.language
        if self.multilingual and language is None:
            language = self.whisper.model.detect_language(window.output)[0][0][0][2:-2]
            self.language = language
        self._tokenizer = Tokenizer(
            self.whisper.hf_tokenizer, self.multilingual, task="transcribe", language=language
        )
        temperatures = list(FALLBACK_TEMPERATURES) if self.temperature_fallback else [0.0]
        self._options = TranscriptionOptions(
            beam_size=self.beam_size,
            best_of=_BEST_OF,
            patience=1.0,
            length_penalty=1.0,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            log_prob_threshold=_LOG_PROB_THRESHOLD,
            no_speech_threshold=_NO_SPEECH_THRESHOLD,
            compression_ratio_threshold=_COMPRESSION_RATIO_THRESHOLD,
            condition_on_previous_text=False,
            prompt_reset_on_temperature=0.5,
            temperatures=temperatures,
            initial_prompt=None,
            prefix=None,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(self._tokenizer, [-1]),
            without_timestamps=False,
            max_initial_timestamp=_MAX_INITIAL_TIMESTAMP_S,
            word_timestamps=True,
            prepend_punctuations=_PREPEND_PUNCTUATIONS,
            append_punctuations=_APPEND_PUNCTUATIONS,
            multilingual=False,
            max_new_tokens=self.max_new_tokens,
            clip_timestamps="0",
            hallucination_silence_threshold=None,
            hotwords=None,
        )

    def decode(self, window: EncodedWindow) -> DecodedWindow:
        """One decoding pass of faster-whisper's ``generate_segments`` on a window."""
        if self._tokenizer is None:
            self._setup(window)
        whisper, tokenizer, options = self.whisper, self._tokenizer, self._options
        start_s, end_s = window.start_s, window.end_s
        prompt = whisper.get_prompt(tokenizer, [], without_timestamps=False)
        result, avg_logprob, _, _ = whisper.generate_with_fallback(
            window.output, prompt, tokenizer, options
        )
        if result.no_speech_prob > _NO_SPEECH_THRESHOLD and avg_logprob <= _LOG_PROB_THRESHOLD:
            return DecodedWindow(start_s, end_s, end_s, (), avg_logprob, 0)
        tokens = result.sequences_ids[0]
        segments, seek, single_ending = whisper._split_segments_by_timestamps(
            tokenizer=tokenizer,
            tokens=tokens,
            time_offset=start_s,
            segment_size=window.num_frames,
            segment_duration=window.num_frames * MEL_FRAME_S,
            seek=window.start,
        )
        whisper.add_word_timestamps(
            [segments],
            tokenizer,
            window.output,
            window.num_frames,
            _PREPEND_PUNCTUATIONS,
            _APPEND_PUNCTUATIONS,
            last_speech_timestamp=start_s,
        )
        words = tuple(
            Word(w["word"].strip(), float(w["start"]), float(w["end"]))
            for segment in segments
            if segment["start"] != segment["end"]
            for w in segment.get("words", [])
            if w["word"].strip()
        )
        complete_s = seek * MEL_FRAME_S
        if not single_ending and words:
            complete_s = max(complete_s, min(words[-1].end, end_s))
        return DecodedWindow(
            start_s, end_s, min(complete_s, end_s), words, float(avg_logprob), len(tokens)
        )


def _covering(windows: list[DecodedWindow], cursor: float) -> DecodedWindow | None:
    """The latest window that started at least :data:`LEAD_S` before ``cursor`` (the first
    window at the clip's start) and decoded past it."""
    candidates = [
        w
        for w in windows
        if (w.start_s <= cursor - LEAD_S or w.start_s == cursor == 0.0)
        and w.complete_s >= cursor + MIN_PROGRESS_S
    ]
    return max(candidates, key=lambda w: w.start_s) if candidates else None


def same_word(previous: Word, word: Word) -> bool:
    """Whether ``word`` (from the next window) repeats ``previous`` (decoded twice)."""
    from semges.speech.alignment import normalize_word

    overlap = min(previous.end, word.end) - max(previous.start, word.start)
    shorter = max(min(previous.end - previous.start, word.end - word.start), 1e-3)
    same_text = normalize_word(previous.word) == normalize_word(word.word)
    return overlap / shorter >= DUPLICATE_OVERLAP or (same_text and overlap > 0)


def _near_speech(word: Word, speech: np.ndarray) -> bool:
    """Whether ``word`` lies within :data:`SILENCE_TOLERANCE_S` of a non-silent interval."""
    if len(speech) == 0:
        return False
    gaps = np.maximum(speech[:, 0] - word.end, word.start - speech[:, 1])
    return bool(gaps.min() < SILENCE_TOLERANCE_S)
