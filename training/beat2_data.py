"""Training data from a BEAT2 folder: clips with cached speech features, cut into windows.

Each clip becomes a ``ClipData`` (per-part 6D rotations, audio and text features, word mask,
per-frame semantic relevance), plus its left/right mirror image when mirroring is on (the
speech features are shared: mirroring changes the motion, not what was said, so every window
carries its ``mirrored`` flag and the generator is told which handedness to produce).
``DataConfig.time_range`` keeps a fraction of every clip (a time split: train on the first
75 %, evaluate on the rest).
``MotionWindows`` cuts the clips into fixed-length windows with a stride.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from semges import layout
from semges.motion import MotionClip, load_motion
from semges.speech import SpeechFeatures
from training import beat2_files as files
from training.clip_features import ClipFeatureExtractor, cached_features
from training.config import DataConfig

logger = logging.getLogger(__name__)

DEFAULT_CACHE = ".feature_cache"


@dataclass
class ClipData:
    """One clip at 30 fps, all arrays of the same length T."""

    clip_id: str
    speaker: int
    mirrored: bool
    parts: dict[str, torch.Tensor]  # part name -> (T, joints * 6) 6D rotations
    audio: torch.Tensor  # (T, A) float32
    text: torch.Tensor  # (T, text_dim) float32
    word_mask: torch.Tensor  # (T,) bool
    semantic: torch.Tensor  # (T,) float32 relevance in [0, 1]

    @property
    def num_frames(self) -> int:
        return self.audio.shape[0]


def cache_dir_for(config: DataConfig) -> Path:
    return Path(config.cache_dir) if config.cache_dir else Path(config.root) / DEFAULT_CACHE


def _part_tensors(motion: MotionClip, num_frames: int) -> dict[str, torch.Tensor]:
    return {
        name: motion.part_rot6d(part)[:num_frames].float()
        for name, part in layout.GENERATED_PARTS.items()
    }


def load_clip(
    record: files.ClipRecord,
    extractor: ClipFeatureExtractor | None,
    cache_dir: Path,
    mirror: bool,
    time_range: tuple[float, float] = (0.0, 1.0),
) -> list[ClipData]:
    """A clip (and its mirror image when ``mirror``), motion and features cut to one length,
    then to the fraction ``time_range`` of its frames.

    Without an extractor (motion-only training, stage 1) the speech features are empty (T, 0).
    """
    motion = load_motion(record.motion)
    if extractor is None:
        empty = np.zeros((motion.num_frames, 0), np.float32)
        features = SpeechFeatures(empty, empty, np.zeros(motion.num_frames, bool))
    else:
        features = cached_features(record, extractor, cache_dir)
    num_frames = min(motion.num_frames, features.num_frames)
    if abs(motion.num_frames - features.num_frames) > layout.FPS // 2:
        logger.warning(
            "%s: motion has %d frames, speech %d; using %d",
            record.clip_id,
            motion.num_frames,
            features.num_frames,
            num_frames,
        )
    spans = files.read_semantic_spans(record.sem) if record.sem is not None else []
    semantic = torch.from_numpy(files.semantic_scores(spans, num_frames))
    kept = time_slice(num_frames, time_range)
    base = ClipData(
        clip_id=record.clip_id,
        speaker=record.speaker,
        mirrored=False,
        parts={name: rot6d[kept] for name, rot6d in _part_tensors(motion, num_frames).items()},
        audio=torch.from_numpy(features.audio[:num_frames][kept]).float(),
        text=torch.from_numpy(features.text[:num_frames][kept]).float(),
        word_mask=torch.from_numpy(features.word_mask[:num_frames][kept]).bool(),
        semantic=semantic[kept],
    )
    if not mirror:
        return [base]
    mirrored_parts = _part_tensors(motion.mirrored(), num_frames)
    return [
        base,
        replace(
            base, mirrored=True, parts={name: rot6d[kept] for name, rot6d in mirrored_parts.items()}
        ),
    ]


def time_slice(num_frames: int, time_range: tuple[float, float]) -> slice:
    """Frames [round(a * T), round(b * T)) of a clip for the fractions (a, b)."""
    start, stop = time_range
    if not 0.0 <= start < stop <= 1.0:
        raise ValueError(f"time_range must satisfy 0 <= start < stop <= 1, got {time_range}")
    return slice(round(start * num_frames), round(stop * num_frames))


def load_clips(
    config: DataConfig, extractor: ClipFeatureExtractor | None, splits: list[str] | None = None
) -> list[ClipData]:
    """Every clip of the configured speakers and splits (mirrored too when configured)."""
    records = files.list_clips(config.root, config.speakers, splits or config.splits)
    cache_dir = cache_dir_for(config)
    time_range = (config.time_range[0], config.time_range[1])
    clips = [
        c for r in records for c in load_clip(r, extractor, cache_dir, config.mirror, time_range)
    ]
    logger.info(
        "loaded %d clips (%d frames) from %s",
        len(clips),
        sum(c.num_frames for c in clips),
        config.root,
    )
    return clips


class MotionWindows(Dataset):
    """Fixed-length windows over clips. An item is a dict of tensors:

    ``audio`` (W, A), ``text`` (W, text_dim), ``word_mask`` (W,) bool, ``semantic`` (W,),
    ``speaker`` () long, ``mirrored`` () bool, and ``motion/<part>`` (W, joints * 6) for every
    generated part.
    Clips shorter than a window are skipped.
    """

    def __init__(self, clips: list[ClipData], window: int, stride: int) -> None:
        if window < 1 or stride < 1:
            raise ValueError("window and stride must be positive")
        self.clips = clips
        self.window = window
        self.index = [
            (c, s)
            for c, clip in enumerate(clips)
            for s in range(0, clip.num_frames - window + 1, stride)
        ]
        if not self.index:
            raise ValueError(f"no clip is at least {window} frames long")

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        c, start = self.index[item]
        clip = self.clips[c]
        w = slice(start, start + self.window)
        sample = {
            "audio": clip.audio[w],
            "text": clip.text[w],
            "word_mask": clip.word_mask[w],
            "semantic": clip.semantic[w],
            "speaker": torch.tensor(clip.speaker),
            "mirrored": torch.tensor(clip.mirrored),
        }
        for part, rot6d in clip.parts.items():
            sample[f"motion/{part}"] = rot6d[w]
        return sample


def collate(samples: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {key: torch.stack([s[key] for s in samples]) for key in samples[0]}


def channel_statistics(sequences: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std over all frames of (T_i, D) sequences -> (D,), (D,)."""
    frames = torch.cat(sequences)
    return frames.mean(dim=0), frames.std(dim=0)


def feature_dims(clips: list[ClipData]) -> tuple[int, int]:
    """(audio_dim, text_dim) as the front-end produced them."""
    return clips[0].audio.shape[1], clips[0].text.shape[1]
