"""Words as the speech arrives: streaming recognition for the live path.

Every ``decode_every_steps`` steps, the live generator sends the trailing ``window_s`` of audio
to a :class:`WordStream`, which decodes it with Whisper in a background thread
(:class:`IncrementalRecognizer`) and commits the words that end at least
``commit_margin_s`` before the window's end (a word cut by the window's edge waits for the next
decode). Each committed word is embedded with MiniLM in the context of the words of its
sentence committed before it (:class:`CausalWordEmbedder`): a live stream cannot see the rest
of the sentence.

The decode sent at step end ``e`` is used by the step ending ``usable_after_steps`` steps
later, never earlier, so the frames depend on the audio alone, not on how fast the thread ran.
If it is not done by then, that step waits at most ``max_wait_s`` and goes on without it (a
late decode, counted; its words are used when it is done): the gestures never wait for words.
Words therefore reach the generator about 1-2 s after they end, far behind the 0.23 s
lookahead, and the live generator is trained for exactly that: the words of its window's last
``lag_range_s`` seconds unknown (UNKNOWN_WORDS), the earlier ones given
(:func:`training.live`).

Measured on the held-out clips 0_2_2 and 0_3_3 (40 s each, tiny.en int8, one thread, the
words decoded against the BEAT2 transcript): a 4 s window every 1.2 s matched 223 of 231 words
for 0.13 s of recognition per second of speech; every 1.0 s, 221 (and 10 more insertions) for
0.17 s; a 3 s window every 1.2 s, 219. Padded to 10 s a window decodes in 0.15 s (median), padded
to Whisper's 30 s in 0.51 s, and unpadded it loops ("Well, Well, Well, ..."). A silent window
is not decoded: Whisper invents words there, up to its token limit (0.9 s a decode).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from semges.layout import FPS
from semges.live.features import LEVEL_FLOOR_DB, PROSODY_FRAME_LENGTH, rms_db
from semges.speech.audio import SAMPLE_RATE
from semges.speech.text_features import CLOSING_PUNCTUATION, SENTENCE_END, sentence_spans
from semges.speech.types import Word

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

    from semges.speech.text_features import WordEncoder

RECOGNITION_THREADS: int = 1  # the recogniser's own Whisper: the step has the other core
REPEAT_TOLERANCE_S: float = 0.1  # a word starting this much before the known time is a repeat
MAX_TOKENS_PER_S: float = 12.0  # fast speech makes about 5 (words and timestamps); loops more
SILENT_WINDOW_DB: float = -60.0  # a window whose loudest 64 ms is below this holds no speech


@dataclass(frozen=True)
class StreamingWordConfig:
    """How the live path recognises words; saved with the live models (trained for its lag)."""

    decode_every_steps: int = 6  # a decode every 1.2 s of speech at 0.2 s steps
    window_s: float = 4.0  # trailing audio each decode sees (within the features' context)
    encoder_window_s: float = 10.0  # the window padded to this before the encoder
    commit_margin_s: float = 0.5  # words ending nearer the window's end wait for the next decode
    usable_after_steps: int = 2  # a decode's words are used this many steps after it was sent
    max_wait_s: float = 0.1  # the longest a step waits for a decode that is due
    context_words: int = 16  # earlier words of the sentence that contextualise a new word

    def __post_init__(self) -> None:
        if self.decode_every_steps < 1 or self.usable_after_steps < 1:
            raise ValueError("decode_every_steps and usable_after_steps must be >= 1")
        if not 0 < self.commit_margin_s < self.window_s <= self.encoder_window_s:
            raise ValueError("need 0 < commit_margin_s < window_s <= encoder_window_s")

    def lag_range_s(self, hop_frames: int) -> tuple[float, float]:
        """The shortest and longest time from a word's end to its first use: committed at
        the first decode at least ``commit_margin_s`` after it, used ``usable_after_steps``
        steps after that decode."""
        usable = self.usable_after_steps * hop_frames / FPS
        shortest = self.commit_margin_s + usable
        return shortest, shortest + self.decode_every_steps * hop_frames / FPS


@dataclass(frozen=True)
class WordBatch:
    """The words one decode committed. ``sent_frame``: the step end its window ended at;
    ``known_until_s``: every word that ends before this time has been committed by now (the
    frames before it carry their words or none); ``embeddings``: (words, dim)."""

    sent_frame: int
    words: tuple[Word, ...]
    embeddings: np.ndarray
    known_until_s: float


class CausalWordEmbedder:
    """Contextual embeddings of words committed a few at a time: each batch is encoded after
    the earlier words of its sentence (at most ``context_words``), which are not re-encoded."""

    def __init__(self, encoder: WordEncoder, context_words: int) -> None:
        self.encoder = encoder
        self.context_words = context_words
        self._sentence: list[Word] = []

    def add(self, words: list[Word]) -> np.ndarray:
        """(len(words), dim) float32 embeddings of the next committed words."""
        if not words:
            return np.zeros((0, self.encoder.dim), np.float32)
        together = self._sentence + words
        embeddings = self.encoder.embed(together)[len(self._sentence) :]
        last_start = sentence_spans(together)[-1][0]
        finished = together[-1].word.rstrip(CLOSING_PUNCTUATION).endswith(SENTENCE_END)
        self._sentence = [] if finished else together[last_start:][-self.context_words :]
        return embeddings


class IncrementalRecognizer:
    """Decodes the trailing windows of one stream in order and commits each word once."""

    def __init__(
        self,
        whisper: WhisperModel,
        encoder: WordEncoder,
        config: StreamingWordConfig,
        language: str | None = "en",
    ) -> None:
        from semges.speech.recognition import WindowRecogniser

        self.whisper = whisper
        self.config = config
        self._recogniser = WindowRecogniser(
            whisper,
            None,
            language,
            temperature_fallback=False,
            max_new_tokens=round(MAX_TOKENS_PER_S * config.window_s),
        )
        self._embedder = CausalWordEmbedder(encoder, config.context_words)
        self._known_until_s = 0.0
        self._last: Word | None = None

    def decode(self, samples: np.ndarray, end_s: float, sent_frame: int) -> WordBatch:
        """The words newly committed from ``samples``, the audio that ends at ``end_s``."""
        from faster_whisper.audio import pad_or_trim

        from semges.speech.encoder import MEL_FRAME_S, EncodedWindow, log_mel
        from semges.speech.recognition import same_word

        start_s = end_s - samples.shape[0] / SAMPLE_RATE
        cut = end_s - self.config.commit_margin_s
        if _loudest_db(samples) < SILENT_WINDOW_DB:  # Whisper would invent words, slowly
            self._known_until_s = max(self._known_until_s, cut)
            return WordBatch(sent_frame, (), self._embedder.add([]), self._known_until_s)
        mel = log_mel(self.whisper, samples)
        padded = round(self.config.encoder_window_s / MEL_FRAME_S)
        output = self.whisper.encode(pad_or_trim(mel, padded))
        window = EncodedWindow(-1, round(start_s / MEL_FRAME_S), mel.shape[1], output)
        decoded = self._recogniser.decode(window)
        committed: list[Word] = []
        known_until = cut
        for word in decoded.words:
            if word.end > cut:
                known_until = min(known_until, word.start)
                break
            if word.start < self._known_until_s - REPEAT_TOLERANCE_S:
                continue
            if self._last is not None and same_word(self._last, word):
                continue
            committed.append(word)
            self._last = word
        self._known_until_s = max(self._known_until_s, known_until)
        embeddings = self._embedder.add(committed)
        return WordBatch(sent_frame, tuple(committed), embeddings, self._known_until_s)


def _loudest_db(samples: np.ndarray) -> float:
    """The level of the loudest prosody frame (64 ms) of ``samples``, as the live features
    measure it."""
    length = PROSODY_FRAME_LENGTH
    frames = samples[: samples.shape[0] // length * length].reshape(-1, length)
    return float(rms_db(frames).max()) if frames.size else LEVEL_FLOOR_DB


class WordStream:
    """An :class:`IncrementalRecognizer` in a background thread, fed by the live steps.

    ``send(frame, samples)`` queues a decode of the audio ending at step end ``frame``;
    ``take(frame)`` returns, in order, the decodes due at step end ``frame`` (sent
    ``usable_after`` frames or more before it) that are done, waiting up to ``max_wait_s`` for
    each that is not (``None``: as long as it takes, for exact repeatability when the audio
    comes faster than real time). Decodes not yet started are dropped, oldest first, when more
    than ``max_pending`` wait (the machine cannot keep up; the next window covers most of a
    dropped one).
    """

    max_pending: int = 2

    def __init__(
        self, recognizer: IncrementalRecognizer, usable_after: int, max_wait_s: float | None
    ) -> None:
        self.recognizer = recognizer
        self.usable_after = usable_after
        self.max_wait_s = max_wait_s
        self.late = 0  # decodes not done when due
        self.dropped = 0  # decodes dropped unstarted
        self.compute_s = 0.0  # time spent decoding and embedding
        self._pending: deque[tuple[int, np.ndarray]] = deque()
        self._running: int | None = None
        self._done: deque[WordBatch] = deque()
        self._late_frames: set[int] = set()
        self._condition = threading.Condition()
        self._closed = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="semges-words", daemon=True)
        self._thread.start()

    def send(self, frame: int, samples: np.ndarray) -> None:
        with self._condition:
            self._raise_error()
            if self.max_wait_s is not None and len(self._pending) >= self.max_pending:
                self._pending.popleft()
                self.dropped += 1
            self._pending.append((frame, samples))
            self._condition.notify_all()

    def take(self, frame: int) -> list[WordBatch]:
        due = frame - self.usable_after
        deadline = None if self.max_wait_s is None else time.perf_counter() + self.max_wait_s
        with self._condition:
            while self._waiting_before(due):
                self._raise_error()
                remaining = None if deadline is None else deadline - time.perf_counter()
                if remaining is not None and remaining <= 0:
                    self._count_late(due)
                    break
                self._condition.wait(remaining)
            self._raise_error()
            taken = []
            while self._done and self._done[0].sent_frame <= due:
                taken.append(self._done.popleft())
            return taken

    def close(self) -> None:
        """Stop the thread (after the decode it is running, if any)."""
        with self._condition:
            self._closed = True
            self._pending.clear()
            self._condition.notify_all()
        self._thread.join()

    def _waiting_before(self, due: int) -> bool:
        """Whether a decode sent at or before ``due`` is still queued or running."""
        queued = bool(self._pending) and self._pending[0][0] <= due
        running = self._running is not None and self._running <= due
        return queued or running

    def _count_late(self, due: int) -> None:
        frames = [f for f, _ in self._pending if f <= due]
        if self._running is not None and self._running <= due:
            frames.append(self._running)
        for sent in frames:
            if sent not in self._late_frames:
                self._late_frames.add(sent)
                self.late += 1
        self._late_frames.intersection_update(frames)  # each late decode counted once

    def _raise_error(self) -> None:
        if self._error is not None:
            raise RuntimeError("word recognition failed") from self._error

    def _work(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._closed:
                    self._condition.wait()
                if self._closed:
                    return
                frame, samples = self._pending.popleft()
                self._running = frame
            start = time.perf_counter()
            try:
                batch = self.recognizer.decode(samples, frame / FPS, frame)
            except BaseException as error:  # surfaced to the stream's caller by take / send
                with self._condition:
                    self._error, self._running = error, None
                    self._condition.notify_all()
                return
            with self._condition:
                self.compute_s += time.perf_counter() - start
                self._done.append(batch)
                self._running = None
                self._condition.notify_all()


@lru_cache(maxsize=1)
def recognition_whisper(model: str | None, compute_type: str) -> WhisperModel:
    """The recogniser's own Whisper on one thread (shared by the streams of a process: the
    feature encoder's runs beside it, and a CTranslate2 model runs one call at a time)."""
    from semges.speech.transcription import load_whisper

    return load_whisper(model, "cpu", compute_type, RECOGNITION_THREADS)


def committed_batches(
    words: list[Word], config: StreamingWordConfig, hop_frames: int, first_decode_frame: int
) -> list[list[Word]]:
    """``words`` grouped as a live stream commits them when recognition is right: each at the
    first decode (step ends ``first_decode_frame`` + k * every * hop) at least
    ``commit_margin_s`` after its end (training embeds the words in these groups)."""
    every = config.decode_every_steps * hop_frames
    batches: dict[int, list[Word]] = {}
    for word in words:
        frame = int(np.ceil((word.end + config.commit_margin_s) * FPS - 1e-9))
        k = max(0, -(-(frame - first_decode_frame) // every))
        batches.setdefault(k, []).append(word)
    return [batches[k] for k in sorted(batches)]
