"""The motion benchmark's time split: a pipeline trained on the first 75 % of the real clip
generates the last 25 %, compared with the real motion there frame by frame."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from benchmarks import motion_drivers
from benchmarks.motion_clips import (
    REAL_CLIP,
    SEED,
    SPEAKER,
    STATISTIC_SEEDS,
    segment,
    tail_features,
    textgrid_features,
)
from benchmarks.motion_fgd import frechet
from benchmarks.motion_tables import clip_statistics, statistic_rows
from semges import layout
from semges import motion_statistics as stats
from semges.motion import MotionClip
from semges.pipeline import SemGesPipeline
from semges.speech import SpeechFeatures
from training.fgd_model import FGDAutoencoder

if TYPE_CHECKING:
    from semges.speech.frontend import SpeechFrontend

logger = logging.getLogger("benchmarks.motion_quality")

ERROR_GROUPS = {
    "upper_body": layout.UPPER_BODY,
    "hands": layout.HANDS,
    "lower_body": layout.LOWER_BODY,
}


def body_frame_positions(motion: MotionClip) -> np.ndarray:
    """(T, 55, 3) positions with the root rotation at rest: the pose, in the body's frame."""
    return stats.joint_positions(stats.with_groups_at_rest(motion.poses, (layout.ROOT,)))


def time_split(
    folder: Path,
    frontend: SpeechFrontend,
    source: Path,
    real: MotionClip,
    start: int,
    autoencoder: FGDAutoencoder,
    checkpoint: Path,
    other_speech: dict[str, SpeechFeatures],
) -> tuple[dict, MotionClip | None]:
    """The split pipeline's motion for frames [start, T) of the real clip, compared with the
    real motion there (timing: every seed of STATISTIC_SEEDS, and the chance level from
    ``other_speech``, held-out features); a note instead when there is no pipeline in
    ``folder``."""
    if not (folder / "pipeline.json").is_file():
        note = (
            f"no pipeline at `{folder}` (train one on the first 75 % of the real clip with "
            "`python -m training.default_checkpoint --train-fraction 0.75 --out DIR` and "
            "pass --split-checkpoint DIR)"
        )
        logger.warning("time split skipped: %s", note)
        return {"checkpoint": str(folder), "skipped": note}, None
    pipeline = SemGesPipeline.from_pretrained(folder, frontend)
    tail = tail_features(textgrid_features(frontend, source, REAL_CLIP), start, real.num_frames)
    motion = pipeline.generate_motion(tail, speaker=SPEAKER, seed=SEED)
    real_tail = segment(real, start, real.num_frames)
    timing = motion_drivers.split_timing(
        real_tail,
        {
            seed: motion
            if seed == SEED
            else pipeline.generate_motion(tail, speaker=SPEAKER, seed=seed)
            for seed in STATISTIC_SEEDS
        },
        {
            clip: pipeline.generate_motion(
                tail_features(features, 0, real_tail.num_frames), speaker=SPEAKER, seed=SEED
            )
            for clip, features in other_speech.items()
        },
    )
    body, real_body = body_frame_positions(motion), body_frame_positions(real_tail)
    leak = (
        "development run: the split pipeline is the main checkpoint, trained on the whole "
        "clip, so it has seen these frames"
        if folder.resolve() == checkpoint.resolve()
        else None
    )
    return {
        "checkpoint": str(folder),
        "start": start,
        "stop": real.num_frames,
        "warning": leak,
        "has_face": pipeline.face is not None,
        "timing": timing,
        "rows": statistic_rows(
            clip_statistics(real_tail, tail.word_mask),
            {"generated": clip_statistics(motion, tail.word_mask)},
        ),
        "fgd": frechet(autoencoder, [real_tail], [motion]),
        "mean_position_error_m": {
            name: stats.mean_position_error(body, real_body, group.joints)
            for name, group in ERROR_GROUPS.items()
        },
        "root_rotation_error_deg": stats.rotation_error_degrees(
            motion.poses, real_tail.poses, layout.ROOT.joints
        ),
    }, motion
