"""The motion benchmark's inputs: which clips, speaker and seeds, and the speech features it
generates from (held-out speech, speech / silence / speech, the held-out speech repeated to ten
minutes, the time split's last 25 %).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semges import layout
from semges.motion import MotionClip
from semges.speakers import speaker_id_from_clip_name
from semges.speech import SpeechFeatures, Word
from semges.speech.audio import SAMPLE_RATE
from semges.speech.text_features import frame_word_features
from training import beat2_files as files

if TYPE_CHECKING:
    from semges.speech.frontend import SpeechFrontend

REAL_CLIP = "2_scott_0_1_1"
TEXTGRID_CLIPS = ("2_scott_0_2_2", "2_scott_0_3_3")
WHISPER_CLIPS = ("2_scott_0_5_5",)
HELD_OUT = TEXTGRID_CLIPS + WHISPER_CLIPS
SPEAKER = speaker_id_from_clip_name(REAL_CLIP)
SEED = 0  # of the contact sheets, FGD, silence, long-clip and time-split motion
STATISTIC_SEEDS = (0, 1, 2)  # held-out statistics: the mean over these samples per clip
SAMPLED_TEMPERATURE = 1.0
SPEECH_PIECE_S = 8.0  # speech before and after the silence
SILENCE_S = 10.0
LONG_CLIP_S = 600.0  # the held-out features repeated to ten minutes
SPLIT_FRACTION = 0.75  # the split pipeline trained on frames [0, round(0.75 T))


def word_frames(words: list[Word], num_frames: int) -> np.ndarray:
    """(T,) bool word frames, by the same rule as the front-end's features."""
    return frame_word_features(words, np.zeros((len(words), 0), np.float32), num_frames)[1]


def segment(motion: MotionClip, start: int, stop: int) -> MotionClip:
    return MotionClip(
        motion.poses[start:stop],
        motion.trans[start:stop],
        motion.betas,
        motion.expressions[start:stop],
        motion.fps,
    )


def textgrid_features(frontend: SpeechFrontend, source: Path, clip: str) -> SpeechFeatures:
    """Features of a clip's speech with its TextGrid words (the training recipe)."""
    return frontend.features(
        frontend.load(str(source / f"{clip}.wav")), files.read_words(source / f"{clip}.TextGrid")
    )


def words_within(words: list[Word], start_s: float, stop_s: float, shift_s: float) -> list[Word]:
    """Words lying wholly in [start_s, stop_s), moved by ``shift_s`` seconds."""
    return [
        Word(w.word, w.start + shift_s, w.end + shift_s)
        for w in words
        if w.start >= start_s and w.end <= stop_s
    ]


def silence_input(frontend: SpeechFrontend, source: Path) -> tuple[SpeechFeatures, np.ndarray]:
    """Speech / digital silence / speech features, and the (T,) bool silence frames."""
    first, second = TEXTGRID_CLIPS
    piece = round(SPEECH_PIECE_S * SAMPLE_RATE)
    samples = np.concatenate(
        [
            frontend.load(str(source / f"{first}.wav"))[:piece],
            np.zeros(round(SILENCE_S * SAMPLE_RATE), np.float32),
            frontend.load(str(source / f"{second}.wav"))[:piece],
        ]
    )
    words = words_within(
        files.read_words(source / f"{first}.TextGrid"), 0.0, SPEECH_PIECE_S, 0.0
    ) + words_within(
        files.read_words(source / f"{second}.TextGrid"),
        0.0,
        SPEECH_PIECE_S,
        SPEECH_PIECE_S + SILENCE_S,
    )
    features = frontend.features(samples, words)
    times = np.arange(features.num_frames) / layout.FPS
    silent = (times >= SPEECH_PIECE_S) & (times < SPEECH_PIECE_S + SILENCE_S)
    return features, silent


def repeated(clips: list[SpeechFeatures], num_frames: int) -> SpeechFeatures:
    """The clips' features one after another, round and round, cut to ``num_frames``."""
    total = sum(c.num_frames for c in clips)
    rounds = -(-num_frames // total)

    def tiled(name: str) -> np.ndarray:
        return np.concatenate([getattr(c, name) for c in clips] * rounds)[:num_frames]

    return SpeechFeatures(tiled("audio"), tiled("text"), tiled("word_mask"))


def tail_features(features: SpeechFeatures, start: int, stop: int) -> SpeechFeatures:
    """Frames [start, stop) of ``features``, words moved to the new time origin."""
    offset = start / layout.FPS
    words = [
        Word(w.word, w.start - offset, w.end - offset) for w in features.words if w.end > offset
    ]
    return SpeechFeatures(
        features.audio[start:stop], features.text[start:stop], features.word_mask[start:stop], words
    )
