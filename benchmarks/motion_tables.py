"""The motion benchmark's statistics and their table rows: what is measured on one clip
(:mod:`semges.motion_statistics`), the issue's targets with pass/fail, and the markdown lines
of a row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.motion_clips import HELD_OUT, TEXTGRID_CLIPS
from semges import layout
from semges import motion_statistics as stats
from semges.motion import MotionClip


@dataclass(frozen=True)
class Target:
    """A pass/fail rule from the issue: ``kind`` is ratio_min, ratio_max, ratio_within (the
    ratio within ``bound`` of 1), value_max or within."""

    kind: str
    bound: float

    def check(self, generated: float, real: float) -> bool | None:
        """Pass or fail; None when a value it needs is unavailable."""
        if not np.isfinite(generated):
            return None
        if self.kind == "value_max":
            return bool(generated <= self.bound)
        if not np.isfinite(real):
            return None
        if self.kind == "ratio_min":
            return bool(generated >= self.bound * real)
        if self.kind == "ratio_max":
            return bool(generated <= self.bound * real)
        if self.kind == "ratio_within":
            return bool(abs(generated / real - 1.0) <= self.bound)
        return bool(abs(generated - real) <= self.bound)

    def describe(self) -> str:
        return {
            "ratio_min": f">= {self.bound:g}x real",
            "ratio_max": f"<= {self.bound:g}x real",
            "ratio_within": f"{1 - self.bound:g}x to {1 + self.bound:g}x real",
            "value_max": f"<= {self.bound:g}",
            "within": f"within {self.bound:g} of real",
        }[self.kind]


@dataclass(frozen=True)
class Statistic:
    key: str
    label: str
    target: Target | None
    definition: str


UPPER_ROWS = "; upper-body rows"
STATISTICS = (
    Statistic(
        "wrist_position_std_m",
        "wrist position std (m)",
        Target("ratio_min", 0.85),
        "std over time of each wrist's position, mean over both wrists and the three "
        "axes" + UPPER_ROWS,
    ),
    Statistic(
        "wrist_height_p95_m",
        "wrist height p95 above pelvis (m)",
        Target("within", 0.05),
        "95th percentile of both wrists' heights above the pelvis joint, pooled" + UPPER_ROWS,
    ),
    Statistic(
        "wrist_height_correlation",
        "L/R wrist-height correlation",
        Target("value_max", 0.70),
        "Pearson correlation of left and right wrist heights",
    ),
    Statistic(
        "spine_neck_head_std_deg",
        "spine/neck/head pose std (deg)",
        Target("ratio_min", 0.7),
        "per joint (spine1-3, neck, head) the mean geodesic "
        "angle to the joint's mean rotation, then the mean over joints",
    ),
    Statistic(
        "finger_std_deg",
        "finger pose std (deg)",
        Target("ratio_min", 0.7),
        "pose std (as above) of the 30 finger joints",
    ),
    Statistic(
        "arm_hand_jerk_m_s3",
        "arm + finger jerk (m/s^3)",
        Target("ratio_max", 1.3),
        "mean |d3p/dt3| of shoulders, elbows, wrists and fingers" + UPPER_ROWS,
    ),
    Statistic(
        "pause_speed_ratio",
        "wrist speed pauses / speech",
        None,
        "mean wrist speed in runs of >= 1 s without words over that on word frames" + UPPER_ROWS,
    ),
    Statistic(
        "lower_body_std_deg",
        "lower-body pose std (deg)",
        Target("ratio_min", 0.25),
        "pose std (as above) of hips, knees, ankles and feet",
    ),
    Statistic(
        "root_rotation_std_deg",
        "root rotation std (deg)",
        Target("ratio_min", 0.25),
        "pose std (as above) of the root rotation",
    ),
    Statistic(
        "translation_std_m",
        "translation std (m)",
        None,
        "std over time of the root translation, mean over x and z",
    ),
    Statistic(
        "stance_foot_speed_m_s",
        "weight-bearing foot median speed (m/s)",
        Target("value_max", 0.03),
        "median over frames of the horizontal speed of the "
        "lower of left_foot / right_foot (world = forward kinematics + trans)",
    ),
)
STATISTICS_BY_KEY = {s.key: s for s in STATISTICS}
GREEDY_KEYS = ("wrist_position_std_m", "wrist_height_correlation", "spine_neck_head_std_deg")
"""Shown at temperature 0 too (0_2_2 and 0_3_3), to say why the default samples."""
SILENCE_TARGET = Target("value_max", 0.4)
LONG_DISTANCE_TARGET = Target("value_max", 1.0)  # m from the start: inside the full view
LONG_LEAN_TARGET = Target("ratio_max", 1.25)  # trunk lean, against the real clip's
LEAN_PERCENTILE = 99.0
SAMPLED_JERK_TARGET = Target("ratio_max", 1.5)
DIFFERENCE_TARGET = Target("ratio_min", 0.5)


# -- statistics of one clip -----------------------------------------------------------------


def clip_statistics(motion: MotionClip, word_mask: np.ndarray) -> dict[str, float]:
    """Every statistic of STATISTICS for one clip; ``word_mask`` (T,) marks word frames."""
    upper = stats.joint_positions(stats.upper_body_rows(motion.poses))
    world = stats.world_joint_positions(motion.poses, motion.trans)
    speed = stats.wrist_speed(upper, motion.fps)
    return {
        "wrist_position_std_m": stats.wrist_position_std(upper),
        "wrist_height_p95_m": stats.wrist_height_percentile(upper),
        "wrist_height_correlation": stats.left_right_height_correlation(upper),
        "spine_neck_head_std_deg": stats.pose_spread_degrees(motion.poses, stats.SPINE_NECK_HEAD),
        "finger_std_deg": stats.pose_spread_degrees(motion.poses, layout.HANDS.joints),
        "arm_hand_jerk_m_s3": stats.arm_hand_jerk(upper, motion.fps),
        "pause_speed_ratio": stats.speed_ratio(
            speed, stats.pause_frames(word_mask, motion.fps), word_mask
        ),
        "lower_body_std_deg": stats.pose_spread_degrees(motion.poses, layout.LOWER_BODY.joints),
        "root_rotation_std_deg": stats.pose_spread_degrees(motion.poses, layout.ROOT.joints),
        "translation_std_m": stats.translation_std(motion.trans),
        "stance_foot_speed_m_s": stats.weight_bearing_foot_speed(world, motion.fps),
    }


def mean_statistics(rows: list[dict[str, float]]) -> dict[str, float]:
    """The mean of each statistic over several samples of one clip."""
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}


def ratio(generated: float, real: float) -> float:
    return generated / real if np.isfinite(real) and real != 0 else float("nan")


def summary_row(
    key: str, label: str, real: float, values: dict[str, float], target: Target | None
) -> dict:
    """Real value, generated value per clip, their mean, ratio to real, target and pass (the
    target is checked on the mean)."""
    finite = [v for v in values.values() if np.isfinite(v)]
    mean = float(np.mean(finite)) if finite else float("nan")
    return {
        "key": key,
        "label": label,
        "real": real,
        "generated": values,
        "mean": mean,
        "ratio": ratio(mean, real),
        "target": target.describe() if target else None,
        "pass": target.check(mean, real) if target else None,
    }


def statistic_rows(real: dict[str, float], clips: dict[str, dict[str, float]]) -> list[dict]:
    """One summary row per statistic of STATISTICS."""
    return [
        summary_row(
            s.key, s.label, real[s.key], {c: row[s.key] for c, row in clips.items()}, s.target
        )
        for s in STATISTICS
    ]


def trunk_lean(motion: MotionClip) -> float:
    """99th percentile over frames of the pelvis-to-neck line's angle from the vertical (deg)."""
    lean = stats.trunk_lean_degrees(stats.joint_positions(motion.poses))
    return float(np.percentile(lean, LEAN_PERCENTILE))


def speech_difference(motions: dict[str, MotionClip]) -> float:
    """Mean joint distance (m) between the motion for the two TextGrid clips, common length."""
    first, second = (motions[c] for c in TEXTGRID_CLIPS)
    length = min(first.num_frames, second.num_frames)
    return stats.mean_position_error(
        stats.joint_positions(first.poses[:length]), stats.joint_positions(second.poses[:length])
    )


# -- markdown -------------------------------------------------------------------------------


def fmt(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def verdict(row: dict) -> str:
    if row["target"] is None:
        return ""
    return {True: "**pass**", False: "FAIL", None: "n/a"}[row["pass"]]


def single_line(row: dict) -> str:
    """A table line: measure, real, generated (mean), ratio, target, pass."""
    return (
        f"| {row['label']} | {fmt(row['real'])} | {fmt(row['mean'])} | "
        f"{fmt(row['ratio'])} | {row['target'] or ''} | {verdict(row)} |"
    )


SINGLE_TABLE_HEADER = [
    "| measure | real | generated | ratio | target | pass |",
    "|---|---:|---:|---:|---|---|",
]


def held_out_table(rows: list[dict]) -> list[str]:
    """A table with one column per held-out clip, then the mean, ratio, target and pass."""
    names = [c.removeprefix("2_scott_") for c in HELD_OUT]
    lines = [
        "| measure | real | " + " | ".join(names) + " | mean | ratio | target | pass |",
        "|---|---:|" + "---:|" * len(names) + "---:|---:|---|---|",
    ]
    for row in rows:
        values = " | ".join(fmt(row["generated"][c]) for c in HELD_OUT)
        lines.append(
            f"| {row['label']} | {fmt(row['real'])} | {values} | {fmt(row['mean'])} | "
            f"{fmt(row['ratio'])} | {row['target'] or ''} | {verdict(row)} |"
        )
    return lines
