"""What drives the motion: the speech or the seed (issue 19), for ``benchmarks/motion_quality.py``.

Vary one input at a time and see whether the hands move at the same moments:
- two **different** speeches at the **same** seed should move at unrelated moments (else the
  seed imposes a choreography of its own);
- the **same** speech at **different** seeds should move at the same moments (the speech
  decides when the hands move; the seed varies how);
- on the time split, where the real motion for the same speech exists, the generated activity
  against the real one, beside the same figure for motion generated from other speech (the
  chance level).

"Activity" is :func:`semges.motion_statistics.wrist_activity` (the speed of both wrists over
0.2 s), "wrist height" the mean height of both wrists above the pelvis, both on the
upper-body rows; clips are cut to a common length before they are compared.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semges import motion_statistics as stats
from semges.motion import MotionClip

if TYPE_CHECKING:
    from semges.render.video_renderer import VideoRenderer

SAME_SEED_MAX = 0.2  # activity and wrist-height correlation, different speeches, one seed
SAME_SPEECH_MIN = 0.35  # activity correlation, one speech, different seeds


@dataclass(frozen=True)
class Traces:
    """What is compared between two motions: (T,) activity and wrist height, (T, 55, 3)
    positions (upper-body rows)."""

    activity: np.ndarray
    height: np.ndarray
    positions: np.ndarray

    @classmethod
    def of(cls, motion: MotionClip, num_frames: int) -> Traces:
        positions = stats.joint_positions(stats.upper_body_rows(motion.poses[:num_frames]))
        return cls(
            stats.wrist_activity(positions, motion.fps),
            stats.mean_wrist_height(positions),
            positions,
        )


def compare(first: Traces, second: Traces) -> dict[str, float]:
    """Activity correlation, wrist-height correlation and mean arm-joint distance (m)."""
    return {
        "activity": stats.correlation(first.activity, second.activity),
        "height": stats.correlation(first.height, second.height),
        "arm_distance_m": stats.mean_joint_distance(first.positions, second.positions),
    }


def summarise(pairs: list[dict[str, float]]) -> dict:
    """Mean, min and max of each comparison over pairs of motions."""
    return {
        key: {
            "mean": float(np.mean([p[key] for p in pairs])),
            "min": float(np.min([p[key] for p in pairs])),
            "max": float(np.max([p[key] for p in pairs])),
            "pairs": len(pairs),
        }
        for key in pairs[0]
    }


def pair_rows(motions: dict[tuple[str, int], MotionClip]) -> dict[str, dict]:
    """Motions keyed by (speech, seed), cut to their common length -> the comparisons of every
    pair, grouped: different speech and same seed, same speech and different seeds, both
    different."""
    length = min(m.num_frames for m in motions.values())
    traces = {key: Traces.of(m, length) for key, m in motions.items()}
    groups: dict[str, list[dict[str, float]]] = {
        "different_speech_same_seed": [],
        "same_speech_different_seed": [],
        "different_speech_different_seed": [],
    }
    for a, b in itertools.combinations(traces, 2):
        group = (
            "same_speech_different_seed"
            if a[0] == b[0]
            else "different_speech_same_seed"
            if a[1] == b[1]
            else "different_speech_different_seed"
        )
        groups[group].append(compare(traces[a], traces[b]))
    return {group: summarise(pairs) for group, pairs in groups.items() if pairs}


def checks(pairs: dict[str, dict]) -> dict[str, bool]:
    """The issue's targets on the grouped comparisons (means over pairs)."""
    same_seed, same_speech = (
        pairs["different_speech_same_seed"],
        pairs["same_speech_different_seed"],
    )
    return {
        "different_speech_same_seed": bool(
            same_seed["activity"]["mean"] <= SAME_SEED_MAX
            and same_seed["height"]["mean"] <= SAME_SEED_MAX
        ),
        "same_speech_different_seed": bool(same_speech["activity"]["mean"] >= SAME_SPEECH_MIN),
    }


def split_timing(
    real_tail: MotionClip, generated: dict[int, MotionClip], chance: dict[str, MotionClip]
) -> dict:
    """Activity correlation of the split pipeline's motion (per seed) with the real motion of
    the same frames, and of motion generated from other speech (per clip; the chance level)
    with the same real motion."""
    length = min(m.num_frames for m in [real_tail, *generated.values(), *chance.values()])
    real = Traces.of(real_tail, length)
    return {
        "frames": length,
        "seeds": {
            str(seed): compare(Traces.of(m, length), real)["activity"]
            for seed, m in generated.items()
        },
        "chance": {
            clip: compare(Traces.of(m, length), real)["activity"] for clip, m in chance.items()
        },
    }


def markdown(drivers: dict) -> list[str]:
    """The report's section."""

    def cell(summary: dict) -> str:
        if summary["pairs"] == 1:
            return f"{summary['mean']:.2f}"
        return f"{summary['mean']:.2f} ({summary['min']:.2f} to {summary['max']:.2f})"

    labels = {
        "different_speech_same_seed": "two **different** speeches, **same** seed",
        "same_speech_different_seed": "the **same** speech, **different** seeds",
        "different_speech_different_seed": "different speech and different seed",
    }
    lines = [
        "",
        "## What drives the motion: speech or seed",
        "",
        f"Held-out clips {', '.join(drivers['clips'])}, seeds "
        f"{', '.join(map(str, drivers['seeds']))}, cut to {drivers['frames']} frames; "
        "activity = speed of both wrists over 0.2 s, wrist height = mean of both wrists "
        "above the pelvis (upper-body rows); mean over pairs (min to max). Targets: "
        f"different speeches at one seed <= {SAME_SEED_MAX:g} (activity and height), one "
        f"speech at different seeds >= {SAME_SPEECH_MIN:g} (activity).",
        "",
        "| pair of motions | activity correlation | wrist-height correlation | "
        "mean arm-joint distance (m) | pass |",
        "|---|---|---|---:|---|",
    ]
    for group, label in labels.items():
        summary = drivers["pairs"][group]
        passed = drivers["checks"].get(group)
        lines.append(
            f"| {label} | {cell(summary['activity'])} | {cell(summary['height'])} | "
            f"{summary['arm_distance_m']['mean']:.3f} | "
            f"{'' if passed is None else '**pass**' if passed else 'FAIL'} |"
        )
    greedy = drivers["greedy_pairs"]["different_speech_same_seed"]
    lines.append(
        f"| temperature 0, two different speeches | {cell(greedy['activity'])} | "
        f"{cell(greedy['height'])} | {greedy['arm_distance_m']['mean']:.3f} | |"
    )
    split = drivers.get("time_split")
    if split:
        seeds = ", ".join(f"seed {s}: {v:.2f}" for s, v in split["seeds"].items())
        chance = ", ".join(
            f"{c.removeprefix('2_scott_')}: {v:.2f}" for c, v in split["chance"].items()
        )
        lines += [
            "",
            f"Time split ({split['frames']} frames of the real clip's last 25 %): "
            f"activity correlation of the generated motion with the real motion of the "
            f"same speech, {seeds}; chance level (motion generated from other speech, same "
            f"seed {drivers['seeds'][0]}, against the same real motion): {chance}.",
        ]
    lines += ["", "Sheets: " + ", ".join(f"`{p}`" for p in drivers["sheets"])]
    return lines


def draw_sheets(
    renderer: VideoRenderer, motions: dict[tuple[str, int], MotionClip], out: Path
) -> list[Path]:
    """Two contact sheets: one speech at three seeds, and two speeches at one seed."""
    from benchmarks.contact_sheets import contact_sheet

    clips = sorted({clip for clip, _ in motions})
    seeds = sorted({seed for _, seed in motions})
    short = {clip: clip.removeprefix("2_scott_") for clip in clips}
    one_speech = {f"{short[clips[0]]} seed {s}": motions[clips[0], s] for s in seeds}
    one_seed = {f"{short[c]} seed {seeds[0]}": motions[c, seeds[0]] for c in clips[:2]}
    return [
        contact_sheet(
            renderer,
            one_speech,
            "upper",
            f"one speech ({short[clips[0]]}), seeds {', '.join(map(str, seeds))}: "
            "the hands should move at the same moments",
            out / "one_speech_seeds.png",
        ),
        contact_sheet(
            renderer,
            one_seed,
            "upper",
            f"two speeches, seed {seeds[0]}: the hands should move at different moments",
            out / "two_speeches_one_seed.png",
        ),
    ]
