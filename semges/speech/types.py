"""What the speech front-end hands the generator: timed words and frame-aligned features."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Word:
    """One spoken word with its start and end time in seconds."""

    word: str
    start: float
    end: float

    def to_dict(self) -> dict[str, str | float]:
        return {"word": self.word, "start": round(self.start, 3), "end": round(self.end, 3)}


@dataclass
class SpeechFeatures:
    """Generator inputs for one clip, all at the motion frame rate and the same length T.

    ``audio``: (T, audio_dim) float32, Whisper encoder states resampled to 30 fps followed by
    prosody (RMS energy, onset strength, pitch, voicing).
    ``text``: (T, text_dim) float32, the contextual embedding of the word spoken at each frame;
    rows where ``word_mask`` is False carry no word and their values are ignored (the model
    substitutes its learned PAD vector).
    ``word_mask``: (T,) bool, True where a word is being spoken.
    """

    audio: np.ndarray
    text: np.ndarray
    word_mask: np.ndarray
    words: list[Word] = field(default_factory=list)
    alignment_note: str | None = None  # set when word timings are a fallback, says why
    language_note: str | None = None  # set when the speech does not sound like English

    def __post_init__(self) -> None:
        num_frames = self.audio.shape[0]
        if self.text.shape[0] != num_frames or self.word_mask.shape != (num_frames,):
            raise ValueError(
                f"feature lengths differ: audio {self.audio.shape}, text {self.text.shape}, "
                f"word_mask {self.word_mask.shape}"
            )

    @property
    def num_frames(self) -> int:
        return self.audio.shape[0]
