"""Speech features of training clips, computed once per clip and cached.

For training, word timings come from the clip's TextGrid (not from Whisper): the extractor
composes the front-end's lower-level functions (Whisper encoder states + prosody for audio,
per-frame MiniLM word embeddings for text) with the given words. The cache holds one ``.npz``
per clip under ``<cache_dir>/<fingerprint>/<clip id>.npz``; the fingerprint hashes the
extractor's configuration, so changing the front-end never reuses stale features.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from semges import layout
from semges.atomic_files import atomic_output
from semges.speech import SpeechFeatures, Word
from training import beat2_files as files

if TYPE_CHECKING:
    from semges.speech.frontend import FrontendConfig

logger = logging.getLogger(__name__)


class ClipFeatureExtractor(Protocol):
    """Speech (16 kHz-or-any-rate samples) + timed words -> frame-aligned features."""

    @property
    def frontend_config(self) -> FrontendConfig | None:
        """The speech front-end that makes these features, saved with the trained pipeline
        (None: features of no front-end, e.g. a test's)."""
        ...

    def fingerprint(self) -> str:
        """A short string that changes whenever the features would change."""
        ...

    def __call__(
        self, samples: np.ndarray, sample_rate: int, words: list[Word]
    ) -> SpeechFeatures: ...


def num_frames_for(num_samples: int, sample_rate: int) -> int:
    """Frames of a clip: :func:`semges.layout.num_motion_frames`, as everywhere in semges."""
    return layout.num_motion_frames(num_samples, sample_rate)


class FrontendClipFeatures:
    """The speech front-end's audio and text features, with words given by the caller."""

    def __init__(self, frontend_config: object | None = None) -> None:
        from semges.speech.frontend import FrontendConfig

        self.config = frontend_config if frontend_config is not None else FrontendConfig()
        self._frontend = None

    @property
    def frontend(self):  # -> SpeechFrontend, loaded on first use (cache hits never need it)
        if self._frontend is None:
            from semges.speech.frontend import SpeechFrontend

            self._frontend = SpeechFrontend(self.config)
        return self._frontend

    @property
    def frontend_config(self) -> FrontendConfig:
        return self.config

    def fingerprint(self) -> str:
        return self.config.feature_fingerprint()

    def __call__(self, samples: np.ndarray, sample_rate: int, words: list[Word]) -> SpeechFeatures:
        speech = self.frontend.decode((samples, sample_rate))  # decoded once, 16 kHz mono
        return self.frontend.features(speech, words)


def cached_features(
    record: files.ClipRecord, extractor: ClipFeatureExtractor, cache_dir: str | Path
) -> SpeechFeatures:
    """Features of one clip from the cache, computing and storing them on a miss."""
    path = Path(cache_dir) / extractor.fingerprint() / f"{record.clip_id}.npz"
    words = files.read_words(record.textgrid)
    if path.is_file():
        with np.load(path) as data:
            return SpeechFeatures(data["audio"], data["text"], data["word_mask"], words)
    import soundfile as sf

    samples, sample_rate = sf.read(record.wav, dtype="float32", always_2d=True)
    features = extractor(samples.mean(axis=1), sample_rate, words)
    with atomic_output(path) as partial, open(partial, "wb") as handle:
        np.savez(
            handle,
            audio=features.audio.astype(np.float32),
            text=features.text.astype(np.float32),
            word_mask=features.word_mask,
        )
    logger.info("cached features of %s (%d frames)", record.clip_id, features.num_frames)
    return features


def default_extractor() -> ClipFeatureExtractor:
    """The speech front-end's features (Whisper states + prosody, MiniLM word embeddings)."""
    return FrontendClipFeatures()
