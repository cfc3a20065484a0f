"""A synthetic corpus in the BEAT2 layout, with known word timings and known gestures.

    python -m training.synthetic --out DIR --clips N [--seed S]

Speech is espeak-ng, one word at a time, concatenated with fixed pauses, so every word's
timing is exact. Motion is a relaxed rest pose plus
- beat motion: elbows and spine follow the speech RMS envelope (prosody drives beats);
- semantic gestures: each keyword in ``GESTURES`` ("big", "small", "up", "you", "me") adds a
  distinct upper-body and hand pose over the word's frames (with short ramps in and out), and
  the ``sem/*.txt`` file marks it with relevance 1.

Because the gesture templates are known, ``keyword_gesture_recall`` can say whether a model
produced the right gesture for each keyword: the semantic test of the ablation benchmark.
"""

from __future__ import annotations

import argparse
import io
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from semges import layout
from semges.metrics import nearest_template_recall
from semges.motion import MotionClip, save_motion
from semges.speakers import DEFAULT_SPEAKER
from semges.speech import Word
from training import beat2_files as files

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # wave16k
ESPEAK_RATE = 22050  # espeak-ng output rate
WORD_GAP_S = 0.06  # pause between words
SENTENCE_GAP_S = 0.45  # pause between sentences
LEAD_S = 0.3  # silence at the start and end of a clip
RAMP_FRAMES = 5  # gesture ramp in / out, frames
SPEAKER = DEFAULT_SPEAKER  # synthetic clips pose as the default speaker (2)
SILENCE_THRESHOLD = 0.02  # amplitude under which espeak's leading/trailing samples are trimmed

FILLERS = (
    "we",
    "should",
    "look",
    "at",
    "this",
    "really",
    "thing",
    "today",
    "and",
    "then",
    "it",
    "was",
    "so",
    "the",
    "a",
    "people",
    "think",
    "about",
    "work",
    "every",
    "day",
    "house",
    "story",
    "maybe",
    "later",
    "going",
    "there",
    "with",
    "friends",
    "music",
)


def _joint(name: str) -> int:
    return layout.JOINT_NAMES.index(name)


def _fingers(side: str) -> list[str]:
    return [f"{side}_{f}{k}" for f in ("index", "middle", "pinky", "ring") for k in (1, 2, 3)]


# Rest pose: arms hanging at the sides, elbows slightly bent (axis-angle, radians).
REST_POSE: dict[str, tuple[float, float, float]] = {
    "left_shoulder": (0.0, 0.0, -1.15),
    "right_shoulder": (0.0, 0.0, 1.15),
    "left_elbow": (0.0, -0.35, 0.0),
    "right_elbow": (0.0, 0.35, 0.0),
}

# Gesture offsets added to the rest pose over a keyword, per joint (axis-angle, radians).
GESTURES: dict[str, dict[str, tuple[float, float, float]]] = {
    "big": {
        "left_shoulder": (0.0, 0.0, 0.9),
        "right_shoulder": (0.0, 0.0, -0.9),
        "left_elbow": (0.0, 0.3, 0.0),
        "right_elbow": (0.0, -0.3, 0.0),
    },
    "small": {
        "left_elbow": (0.0, -1.2, 0.0),
        "right_elbow": (0.0, 1.2, 0.0),
        **{j: (0.0, 0.0, 0.9) for j in _fingers("left")},
        **{j: (0.0, 0.0, -0.9) for j in _fingers("right")},
    },
    "up": {
        "right_shoulder": (0.0, 0.0, -1.6),
        "right_elbow": (0.0, 0.5, 0.0),
        "head": (-0.3, 0.0, 0.0),
    },
    "you": {
        "right_shoulder": (0.0, 0.9, 0.5),
        "right_elbow": (0.0, 0.6, 0.0),
        **{j: (0.0, 0.0, -1.0) for j in _fingers("right") if "index" not in j},
    },
    "me": {
        "right_shoulder": (0.0, -0.4, 0.2),
        "right_elbow": (0.0, 1.9, 0.0),
        "spine3": (0.15, 0.0, 0.0),
    },
}
KEYWORDS: tuple[str, ...] = tuple(GESTURES)

# Beat motion: joint and axis-angle direction scaled by the (0..1) RMS envelope.
BEAT_MOTION: dict[str, tuple[float, float, float]] = {
    "left_elbow": (0.0, -0.35, 0.0),
    "right_elbow": (0.0, 0.35, 0.0),
    "spine3": (0.08, 0.0, 0.0),
    "head": (0.12, 0.0, 0.0),
}


def _pose_vector(joints: dict[str, tuple[float, float, float]]) -> np.ndarray:
    """{joint name: axis-angle} -> (165,) float32."""
    pose = np.zeros((layout.NUM_JOINTS, layout.AXIS_ANGLE_DIM), np.float32)
    for name, value in joints.items():
        pose[_joint(name)] = value
    return pose.reshape(layout.POSE_DIM)


def gesture_templates() -> tuple[list[str], np.ndarray]:
    """Labels ("none" + keywords) and (K + 1, 165) poses: rest, and rest + each gesture."""
    rest = _pose_vector(REST_POSE)
    return ["none", *KEYWORDS], np.stack(
        [rest] + [rest + _pose_vector(GESTURES[k]) for k in KEYWORDS]
    )


class SpeechSynth:
    """espeak-ng words as 16 kHz float arrays, silence-trimmed, cached per (word, variant)."""

    VARIANTS = ((150, 50), (170, 40), (135, 60))  # (words per minute, pitch)

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], np.ndarray] = {}

    def word(self, text: str, variant: int) -> np.ndarray:
        key = (text, variant % len(self.VARIANTS))
        if key not in self._cache:
            speed, pitch = self.VARIANTS[key[1]]
            wav = subprocess.run(
                ["espeak-ng", "--stdout", "-s", str(speed), "-p", str(pitch), text],
                check=True,
                capture_output=True,
            ).stdout
            from scipy.signal import resample_poly  # here: scipy.signal takes ~1 s to import

            samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
            if rate != ESPEAK_RATE:
                raise RuntimeError(f"espeak-ng wrote {rate} Hz, expected {ESPEAK_RATE}")
            samples = resample_poly(samples, SAMPLE_RATE, ESPEAK_RATE).astype(np.float32)
            loud = np.flatnonzero(np.abs(samples) > SILENCE_THRESHOLD)
            self._cache[key] = samples[loud[0] : loud[-1] + 1] if loud.size else samples
        return self._cache[key]


@dataclass
class SyntheticClip:
    clip_id: str
    audio: np.ndarray  # (S,) float32 at 16 kHz
    words: list[Word]
    motion: MotionClip


def _sentence(rng: np.random.Generator) -> list[str]:
    words = list(rng.choice(FILLERS, size=int(rng.integers(4, 8))))
    for _ in range(int(rng.integers(1, 3))):
        words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(KEYWORDS)))
    return [str(w) for w in words]


def rms_envelope(audio: np.ndarray, num_frames: int) -> np.ndarray:
    """(num_frames,) RMS per 30 fps frame of 16 kHz audio, smoothed and scaled to 0..1."""
    hop = SAMPLE_RATE // layout.FPS
    padded = np.pad(audio, (0, max(0, num_frames * hop - audio.size)))[: num_frames * hop]
    rms = np.sqrt((padded.reshape(num_frames, hop) ** 2).mean(axis=1))
    kernel = np.hanning(7)
    smooth = np.convolve(rms, kernel / kernel.sum(), mode="same")
    return (smooth / max(smooth.max(), 1e-8)).astype(np.float32)


def gesture_envelope(num_frames: int, start_s: float, end_s: float) -> np.ndarray:
    """(num_frames,) 1 over the word's frames, cosine ramps of RAMP_FRAMES on both sides."""
    frames = np.arange(num_frames, dtype=np.float32)
    first, last = start_s * layout.FPS, end_s * layout.FPS
    distance = np.maximum(first - frames, frames - last).clip(min=0)
    return np.where(
        distance < RAMP_FRAMES, 0.5 * (1 + np.cos(np.pi * distance / RAMP_FRAMES)), 0.0
    ).astype(np.float32)


def make_clip(
    index: int, rng: np.random.Generator, synth: SpeechSynth, sentences: int = 3
) -> SyntheticClip:
    """One clip of ``sentences`` sentences: audio, exact word timings, and its motion."""
    variant = int(rng.integers(0, len(SpeechSynth.VARIANTS)))
    pieces = [np.zeros(int(LEAD_S * SAMPLE_RATE), np.float32)]
    words: list[Word] = []
    cursor = LEAD_S
    for s in range(sentences):
        for text in _sentence(rng):
            samples = synth.word(text, variant)
            words.append(Word(text, cursor, cursor + samples.size / SAMPLE_RATE))
            gap = np.zeros(int(WORD_GAP_S * SAMPLE_RATE), np.float32)
            pieces += [samples, gap]
            cursor += (samples.size + gap.size) / SAMPLE_RATE
        pause = SENTENCE_GAP_S if s + 1 < sentences else LEAD_S
        pieces.append(np.zeros(int(pause * SAMPLE_RATE), np.float32))
        cursor += int(pause * SAMPLE_RATE) / SAMPLE_RATE
    audio = np.concatenate(pieces)
    num_frames = layout.num_motion_frames(audio.size, SAMPLE_RATE)

    poses = np.tile(_pose_vector(REST_POSE), (num_frames, 1))
    envelope = rms_envelope(audio, num_frames)
    poses += envelope[:, None] * _pose_vector(BEAT_MOTION)[None]
    sway_phase = rng.uniform(0, 2 * np.pi)
    sway = 0.04 * np.sin(2 * np.pi * 0.25 * np.arange(num_frames) / layout.FPS + sway_phase)
    poses[:, _joint("spine2") * 3 + 1] += sway  # slow idle sway keeps silence alive
    for word in words:
        if word.word in GESTURES:
            weight = gesture_envelope(num_frames, word.start, word.end)
            poses += weight[:, None] * _pose_vector(GESTURES[word.word])[None]
    motion = MotionClip(poses, np.zeros((num_frames, layout.TRANSLATION_DIM), np.float32))
    return SyntheticClip(f"{SPEAKER}_synth_0_{index + 1}_{index + 1}", audio, words, motion)


def _write_textgrid(path: Path, words: list[Word], duration: float) -> None:
    from praatio import textgrid
    from praatio.utilities.constants import Interval

    tier = textgrid.IntervalTier(
        files.WORD_TIER, [Interval(w.start, w.end, w.word) for w in words], 0.0, duration
    )
    grid = textgrid.Textgrid()
    grid.addTier(tier)
    grid.save(str(path), format="long_textgrid", includeBlankSpaces=True)


def write_corpus(out: str | Path, clips: int, seed: int = 0, test_fraction: float = 0.25) -> Path:
    """Write ``clips`` clips in the BEAT2 layout under ``out``; the last ones form the test split."""
    out = Path(out)
    for sub in (files.MOTION_DIR, files.WAVE_DIR, files.TEXTGRID_DIR, files.SEM_DIR):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    synth = SpeechSynth()
    num_test = max(1, round(clips * test_fraction)) if clips > 1 else 0
    rows = []
    for i in range(clips):
        clip = make_clip(i, rng, synth)
        duration = clip.audio.size / SAMPLE_RATE
        save_motion(clip.motion, out / files.MOTION_DIR / f"{clip.clip_id}.npz")
        sf.write(
            out / files.WAVE_DIR / f"{clip.clip_id}.wav", clip.audio, SAMPLE_RATE, subtype="PCM_16"
        )
        _write_textgrid(out / files.TEXTGRID_DIR / f"{clip.clip_id}.TextGrid", clip.words, duration)
        sem_lines = ["type\tstart\tend\tduration\tscore\tkeywords"] + [
            f"sem\t{w.start:.3f}\t{w.end:.3f}\t{w.end - w.start:.3f}\t1.0\t{w.word}"
            for w in clip.words
            if w.word in GESTURES
        ]
        (out / files.SEM_DIR / f"{clip.clip_id}.txt").write_text("\n".join(sem_lines) + "\n")
        rows.append(f"{clip.clip_id},{'test' if i >= clips - num_test else 'train'}")
    (out / files.SPLIT_FILE).write_text("id,type\n" + "\n".join(rows) + "\n")
    logger.info("wrote %d synthetic clips to %s", clips, out)
    return out


def keyword_gesture_recall(motions: list[MotionClip], word_lists: list[list[Word]]) -> float:
    """Share of keyword occurrences whose mean pose over the word is nearest that keyword's
    gesture template (among rest and all gestures), over all clips."""
    labels, templates = gesture_templates()
    features, targets = [], []
    for motion, words in zip(motions, word_lists):
        for word in words:
            if word.word not in GESTURES:
                continue
            first = int(word.start * layout.FPS)
            last = max(first + 1, int(np.ceil(word.end * layout.FPS)))
            features.append(motion.poses[first:last].mean(axis=0))
            targets.append(labels.index(word.word))
    if not targets:
        raise ValueError("no keyword occurs in these clips")
    return nearest_template_recall(np.stack(features), templates, np.asarray(targets))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder to write (BEAT2 layout)")
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    write_corpus(args.out, args.clips, args.seed)


if __name__ == "__main__":
    main()
