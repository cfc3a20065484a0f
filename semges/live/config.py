"""The live path's settings and its models' folder inside a pipeline folder.

A pipeline folder may hold a ``live/`` folder: ``live.json`` (a :class:`LiveConfig`), and the
live generator and face model, trained on the live features
(:mod:`semges.live.features`) by ``python -m training.live``. The VQ-VAEs, the inference
settings and the speakers are the pipeline's own.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semges.live.features import StreamingFeatureConfig
from semges.live.words import StreamingWordConfig

LIVE_FOLDER: str = "live"
LIVE_MANIFEST: str = "live.json"
LIVE_FORMAT: str = "semges-live"
LIVE_FORMAT_VERSION: int = 1
GENERATOR_FOLDER: str = "generator"
FACE_FOLDER: str = "face"


@dataclass(frozen=True)
class LiveConfig:
    """How the live generator turns a stream into final frames.

    Each step adds ``features.hop_frames`` frames of features and makes the frames
    ``lookahead_frames`` behind them final: the newest final frame lags the newest audio by
    about ``(lookahead_frames + hop_frames) / FPS`` seconds.

    A segment's code is chosen at the first step with ``decision_frames`` of its frames known,
    which ends less than a hop later; that step makes final the frames up to
    ``lookahead_frames`` before its end. With ``lookahead_frames - decision_frames`` at least
    a hop, no frame of a segment is final before its code is chosen (the frames before it,
    within the decoder's reach, are handed over smoothly). Measured on the held-out clips
    (0_2_2, 0_3_3, 0_5_5, 40 s, seeds 0-2; arm and hand jerk, left/right correlation):
    lookahead 12 / decision 6: 110, 0.67; 8 / 2: 106, 0.62; 7 / 1: 121, 0.64; 9 / 6, codes
    chosen after some of their frames were final: 170. Each frame less lookahead is about
    0.03 s less latency at the 95th percentile (0.1-0.5 s pieces: 12 / 6 0.95 s, 8 / 2 0.79 s
    on one 2-core machine): 7 / 1 keeps the latency under 0.8 s with margin, for jerk close to
    the offline pipeline's (117 on these clips).
    """

    features: StreamingFeatureConfig = field(default_factory=StreamingFeatureConfig)
    lookahead_frames: int = 7  # 0.23 s: the final frames' view of the speech to come
    # a segment's code is chosen once this many of its frames are known (mean logits)
    decision_frames: int = 1
    decode_frames: int = 48  # codes decoded per step: the VQ-VAE decoder's reach and more
    hand_over_frames: int = 6  # a new decode takes over the plan across this many frames
    history_frames: int = 96  # feature rows kept: the generator window and the face's reach
    onset_event_threshold: float = 0.5  # onset strength (scaled) of a peak that starts a segment
    active_energy: float = 0.6  # energy above which a frame counts as speech, voiced or not
    # streaming word recognition; None: the live generator runs on the audio alone (it was
    # trained without words: a manifest without "words")
    words: StreamingWordConfig | None = field(default_factory=StreamingWordConfig)

    def __post_init__(self) -> None:
        hop = self.features.hop_frames
        if self.words is not None and self.words.window_s > self.features.context_s:
            raise ValueError("the words' window_s must lie within the features' context_s")
        if not 1 <= self.decision_frames <= self.lookahead_frames - hop:
            raise ValueError(
                "decision_frames must be at least 1 and a hop less than lookahead_frames (a "
                "segment's code is chosen before any of its frames is final)"
            )
        if self.decode_frames < self.lookahead_frames + hop:
            raise ValueError("decode_frames must cover the lookahead and one hop")

    @property
    def first_step_end(self) -> int:
        """The end frame of the first step: the first multiple of the hop (rows come a hop at a
        time) a hop or more past the lookahead. That step makes every frame before its
        lookahead final; each later step makes one hop more final."""
        hop = self.features.hop_frames
        return -(-(self.lookahead_frames + hop) // hop) * hop

    @property
    def latency_frames(self) -> int:
        """Frames between the newest final frame and the newest audio a step needs."""
        return self.lookahead_frames + self.features.hop_frames

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> LiveConfig:
        values = dict(values)
        features = StreamingFeatureConfig(**values.pop("features", {}))
        words = values.pop("words", None)
        words = StreamingWordConfig(**words) if words is not None else None
        return cls(features=features, words=words, **values)


def live_folder(pipeline_folder: str | os.PathLike) -> Path:
    return Path(pipeline_folder) / LIVE_FOLDER


def write_live_manifest(folder: Path, config: LiveConfig, notes: dict[str, Any]) -> None:
    """``live.json`` in ``folder``: the format, the config and how the models were trained."""
    manifest = {
        "format": LIVE_FORMAT,
        "format_version": LIVE_FORMAT_VERSION,
        "config": config.to_dict(),
        "training": notes,
    }
    (folder / LIVE_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


class NoLiveModels(FileNotFoundError):
    """The pipeline folder has no live models."""


def read_live_config(pipeline_folder: str | os.PathLike) -> LiveConfig:
    path = live_folder(pipeline_folder) / LIVE_MANIFEST
    if not path.is_file():
        raise NoLiveModels(
            f"{pipeline_folder} has no live models ({path} is missing): train them with "
            f"python -m training.live --pipeline {pipeline_folder}"
        )
    manifest = json.loads(path.read_text())
    if (
        manifest.get("format") != LIVE_FORMAT
        or manifest.get("format_version") != LIVE_FORMAT_VERSION
    ):
        raise ValueError(f"{path}: not a {LIVE_FORMAT} v{LIVE_FORMAT_VERSION} manifest")
    return LiveConfig.from_dict(manifest["config"])
