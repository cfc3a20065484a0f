"""The speech front-end: any audio (and optionally its transcript) -> timed words and features.

``SpeechFrontend(config)`` loads Whisper and the word encoder once; ``extract`` turns one
input into :class:`semges.speech.SpeechFeatures` at the motion frame rate, with exactly
``round(duration_s * FPS)`` frames:

1. load: decode and resample to 16 kHz mono, once, into :class:`semges.speech.audio.Audio`
   (an :class:`~semges.speech.audio.Audio` given is used as it is);
2. transcribe: one Whisper encoder pass over fixed 30 s windows (:mod:`semges.speech.encoder`)
   that both recognition (:mod:`semges.speech.recognition`) and the audio features use;
   when a transcript is given, it is force-aligned to the audio with the same model
   (:mod:`semges.speech.alignment`), planned from those recognised words; recognised words
   that do not sound like English get :data:`NOT_ENGLISH_NOTE`;
3. features: the blended encoder states + prosody (:mod:`semges.speech.audio_features`) and
   per-frame contextual word embeddings (:mod:`semges.speech.text_features`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from semges import layout
from semges.progress import Stage, StageCallback, ignore_progress
from semges.speech.audio import (
    DEFAULT_MAX_DURATION_S,
    SAMPLE_RATE,
    Audio,
    AudioInput,
    decode_audio,
)
from semges.speech.encoder import EncodedWindow
from semges.speech.transcription import Recognition, TimingRefinement
from semges.speech.types import SpeechFeatures, Word

logger = logging.getLogger(__name__)

NOT_ENGLISH_NOTE = (
    "The speech model understands English only, and this recording does not sound like "
    "English: the words (and the gestures that follow them) may be wrong."
)
"""Said when Whisper was unsure of what it heard
(:attr:`semges.speech.transcription.Recognition.sounds_like_english`)."""

_WARMUP_S = 1.0  # audio run once at start-up: JIT-compiles librosa's YIN, finds feature sizes


@dataclass(frozen=True)
class FrontendConfig:
    """Everything that decides how speech becomes features (store it with a model's data).

    ``whisper_model``: a faster-whisper (CTranslate2) model folder, or a model name already in
    the local cache; None for the bundled tiny.en. ``text_model``: a sentence-transformers
    style folder for ``transformers``; None for the bundled all-MiniLM-L6-v2.
    ``cpu_threads``: Whisper's CPU threads; 0 takes half the cores (see
    :func:`semges.speech.transcription.default_whisper_threads`). ``beam_size``: 1 is greedy decoding; beam
    search (5) decodes slower (word error rates and timings of the default:
    ``benchmarks/frontend_accuracy.md``, ``benchmarks/frontend_speed.md``). ``vad_filter``: drop recognised words
    that lie in silence (where Whisper invents text; see :mod:`semges.speech.recognition`). ``max_duration_s``: longer input is refused. ``timing``:
    how raw Whisper word times are corrected (:class:`semges.speech.transcription.TimingRefinement`).
    """

    whisper_model: str | None = None
    text_model: str | None = None
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    language: str | None = "en"
    beam_size: int = 1
    vad_filter: bool = True
    max_duration_s: float = DEFAULT_MAX_DURATION_S
    timing: TimingRefinement = field(default_factory=TimingRefinement)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (saved in a pipeline's ``pipeline.json``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FrontendConfig:
        """The config :meth:`to_dict` wrote; raises ValueError for fields it does not know."""
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"FrontendConfig has no fields {sorted(unknown)}")
        timing = values.get("timing", {})
        return cls(**{**values, "timing": TimingRefinement(**timing)})

    def feature_differences(self, other: FrontendConfig) -> list[str]:
        """Names of the :data:`FEATURE_FIELDS` in which ``other`` makes different features."""
        return [name for name in FEATURE_FIELDS if getattr(self, name) != getattr(other, name)]

    def feature_fingerprint(self) -> str:
        """A short hash of the :data:`FEATURE_FIELDS`: the key of a feature cache."""
        identity = {name: getattr(self, name) for name in FEATURE_FIELDS}
        return hashlib.sha1(repr(sorted(identity.items())).encode()).hexdigest()[:12]


FEATURE_FIELDS: tuple[str, ...] = ("whisper_model", "compute_type", "text_model", "timing")
"""The :class:`FrontendConfig` fields that decide the features a model is trained on: the
Whisper encoder and its quantisation (audio states), the word encoder (text), and the word-time
correction (where each word's embedding sits). The others (threads, device, decoding, limits)
change how fast or how well words are recognised, not what a feature means, so a checkpoint
may run with any of them."""


@dataclass(frozen=True)
class TimedWords:
    """Timed words of one clip, with what the user should know about them.

    ``alignment_note``: set when a given transcript could not be aligned and the times are a
    fallback, says why. ``language_note``: :data:`NOT_ENGLISH_NOTE` when recognised speech does
    not sound like English (never set for a given transcript, which is not recognised).
    """

    words: list[Word]
    alignment_note: str | None = None
    language_note: str | None = None


class SpeechFrontend:
    """Loads the speech models once; turns audio (+ optional transcript) into features."""

    def __init__(self, config: FrontendConfig | None = None) -> None:
        from semges.speech.text_features import WordEncoder
        from semges.speech.transcription import load_whisper

        self.config = config or FrontendConfig()
        self.whisper = load_whisper(
            self.config.whisper_model,
            self.config.device,
            self.config.compute_type,
            self.config.cpu_threads,
        )
        self.word_encoder = WordEncoder(self.config.text_model)
        # One short run loads the lazily loaded parts (the first encoder and decoder pass,
        # librosa's compiled YIN, the first MiniLM pass) so the first request is as fast as the
        # next, and finds the sizes.
        warmup = np.random.default_rng(0).normal(0.0, 0.1, round(_WARMUP_S * SAMPLE_RATE))
        warmup = Audio(warmup.astype(np.float32))
        from semges.speech.audio_features import prosody_features

        states = self._analyse(warmup, None, True)[1]
        prosody = prosody_features(warmup.samples, states.shape[0])  # compiles librosa's YIN
        self._audio_dim = int(states.shape[1] + prosody.shape[1])
        self.word_encoder.embed([Word("hello", 0.0, _WARMUP_S)])

    @property
    def audio_dim(self) -> int:
        """Audio feature channels: Whisper encoder width (384 for tiny.en) + 4 prosody."""
        return self._audio_dim

    @property
    def text_dim(self) -> int:
        """Word embedding width (384 for all-MiniLM-L6-v2)."""
        return self.word_encoder.dim

    def audio_features(self, audio: Audio | np.ndarray) -> np.ndarray:
        """(T, audio_dim) Whisper states + prosody at the motion frame rate, for 16 kHz audio."""
        from semges.speech.audio_features import audio_features

        return audio_features(self.whisper, _samples(audio))

    def decode(self, audio: AudioInput) -> Audio:
        """The input decoded once to 16 kHz mono; raises :class:`semges.speech.audio.AudioError`."""
        return decode_audio(audio, max_duration_s=self.config.max_duration_s)

    def load(self, audio: AudioInput) -> np.ndarray:
        """(N,) float32 16 kHz mono samples of :meth:`decode`."""
        return self.decode(audio).samples

    def transcribe(self, audio: AudioInput, text: str | None = None) -> list[Word]:
        """Timed words: recognised by Whisper, or ``text`` aligned to the audio if given."""
        return self.timed_words(audio, text).words

    def timed_words(self, audio: AudioInput, text: str | None = None) -> TimedWords:
        """Like :meth:`transcribe`, with the notes for the user about those words."""
        return self._analyse(self.decode(audio), text, False)[0]

    def extract(
        self,
        audio: AudioInput,
        text: str | None = None,
        progress: StageCallback = ignore_progress,
    ) -> SpeechFeatures:
        """Features of one clip; ``text`` (if not blank) is used instead of recognition.

        Raises :class:`semges.speech.audio.AudioError` for unusable audio.
        """
        progress(Stage.LOADING, 0.0)
        decoded = self.decode(audio)
        progress(Stage.LOADING, 1.0)
        progress(Stage.TRANSCRIBING, 0.0)
        timed, states = self._analyse(decoded, text, True)
        progress(Stage.TRANSCRIBING, 1.0)
        progress(Stage.FEATURES, 0.0)
        features = self._features(decoded.samples, states, timed.words, timed.alignment_note)
        features.language_note = timed.language_note
        progress(Stage.FEATURES, 1.0)
        return features

    def features(
        self, audio: Audio | np.ndarray, words: list[Word], note: str | None = None
    ) -> SpeechFeatures:
        """Features of 16 kHz audio whose timed words are already known (recognised,
        aligned, or read from a dataset's TextGrid): the one recipe training and inference
        share."""
        from semges.speech.audio_features import whisper_encoder_states

        samples = _samples(audio)
        num_frames = layout.num_motion_frames(samples.shape[0], SAMPLE_RATE)
        states = whisper_encoder_states(self.whisper, samples, num_frames)
        return self._features(samples, states, words, note)

    def _features(
        self, samples: np.ndarray, states: np.ndarray, words: list[Word], note: str | None
    ) -> SpeechFeatures:
        """SpeechFeatures from (T, D) encoder states at the frame rate, prosody and words."""
        from semges.speech.audio_features import prosody_features
        from semges.speech.text_features import frame_word_features

        prosody = prosody_features(samples, states.shape[0])  # (T, 4)
        audio_matrix = np.concatenate([states, prosody], axis=1)  # (T, audio_dim)
        del prosody
        embeddings = self.word_encoder.embed(words)  # (W, text_dim)
        text_matrix, mask = frame_word_features(words, embeddings, audio_matrix.shape[0])
        return SpeechFeatures(audio_matrix, text_matrix, mask, words, note)

    def recognise(self, audio: AudioInput) -> Recognition:
        """Whisper's raw words (times as decoded, not refined) and its confidence: what
        :meth:`transcribe` refines, from the same shared-encoder recognition."""
        return self._recognise(self.decode(audio), with_states=False).recognition

    def _recognise(
        self, audio: Audio, with_states: bool, keep_windows: bool = False
    ) -> _Recognised:
        """One encoder pass over the clip, decoded into words and, if ``with_states``,
        crossfaded into (T, D) encoder states at the frame rate; ``keep_windows`` keeps the
        encoder windows too (for aligning a transcript: 2.3 MB per 20 s with tiny.en)."""
        from semges.speech.audio_features import frame_states
        from semges.speech.encoder import StateBlender, content_frames, encode_windows, log_mel
        from semges.speech.recognition import WindowRecogniser
        from semges.speech.transcription import speech_intervals

        config, samples = self.config, audio.samples
        mel = log_mel(self.whisper, samples)  # (n_mels, M) 100 frames/s
        blender = (
            StateBlender(self.whisper, content_frames(self.whisper, mel, samples.shape[0]))
            if with_states
            else None
        )
        recogniser = WindowRecogniser(self.whisper, mel, config.language, config.beam_size)
        windows: list[EncodedWindow] = []
        for window in encode_windows(self.whisper, mel, samples.shape[0]):
            if blender is not None:
                blender.add(window)
            recogniser.add(window)
            if keep_windows:
                windows.append(window)
        states = frame_states(blender, audio.num_motion_frames) if blender is not None else None
        speech = speech_intervals(samples, config.timing.silence_top_db)
        everywhere = np.array([[0.0, audio.duration_s]])
        recognition = recogniser.finish(
            speech if config.vad_filter else everywhere, audio.duration_s
        )
        return _Recognised(recognition, states, speech, windows)

    def _analyse(
        self, audio: Audio, text: str | None, with_states: bool
    ) -> tuple[TimedWords, np.ndarray | None]:
        """Timed words (recognised, or ``text`` aligned) and, if ``with_states``, the (T, D)
        encoder states at the frame rate: one encoder pass serves both."""
        from semges.speech.alignment import align_text
        from semges.speech.transcription import refine_word_times

        config = self.config
        aligning = text is not None and bool(text.strip())
        recognised = self._recognise(audio, with_states, keep_windows=aligning)
        recognition, states, speech = recognised.recognition, recognised.states, recognised.speech
        if aligning:
            result = align_text(
                self.whisper,
                recognised.windows,
                text,
                speech,
                recognition.words,
                audio.duration_s,
                config.language,
                config.timing,
            )
            if result.note:
                logger.warning("%s", result.note)
            return TimedWords(result.words, alignment_note=result.note), states
        words = refine_word_times(recognition.words, speech, audio.duration_s, config.timing)
        language_note = None
        if not recognition.sounds_like_english:
            logger.info(
                "not English? mean token log-probability %.2f over %d tokens",
                recognition.mean_logprob,
                recognition.num_tokens,
            )
            language_note = NOT_ENGLISH_NOTE
        return TimedWords(words, language_note=language_note), states


@dataclass(frozen=True)
class _Recognised:
    """One clip's recognition with what was computed on the way: (T, D) encoder states at the
    frame rate (None when not asked for), (K, 2) speech intervals (s), and the encoder windows
    when asked to keep them (else empty)."""

    recognition: Recognition
    states: np.ndarray | None
    speech: np.ndarray
    windows: list[EncodedWindow]


def _samples(audio: Audio | np.ndarray) -> np.ndarray:
    """(N,) float32 16 kHz samples of decoded audio or of a bare sample array."""
    if isinstance(audio, Audio):
        if audio.sample_rate != SAMPLE_RATE:
            raise ValueError(f"audio must be at {SAMPLE_RATE} Hz, got {audio.sample_rate}")
        return audio.samples
    return audio
