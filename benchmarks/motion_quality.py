"""Motion quality: generated motion against the real BEAT2 clip, statistic by statistic.

    python -m benchmarks.motion_quality --checkpoint assets/checkpoint \
        --split-checkpoint runs/time_split/pipeline [--out benchmarks/]

Real reference: ``2_scott_0_1_1`` (63.5 s of speaker 2 with motion). Generated from held-out
speech ``0_2_2``, ``0_3_3`` (TextGrid words) and ``0_5_5`` (Whisper transcribes) at the
default temperature, at 1 and at 0; from speech / 10 s of digital silence / speech (the first 8 s of
``0_2_2``, zeros, the first 8 s of ``0_3_3``); and, in a time split, by a pipeline trained on
the first 75 % of the real clip for the last 25 %, compared frame by frame with the real
motion there (skipped, with a note, when that folder is absent). Statistics come from
:mod:`semges.motion_statistics`; each is reported as the real value, the generated value per
clip and their mean, the ratio to real, and the issue's target with pass/fail. The face (jaw
and expressions) has its own section (:mod:`benchmarks.face_quality`): loudness correlation and
stds on held-out speech, the mouth in silence, errors on the time split, and open / closed
stills (``<out>/motion_quality/face_open_closed.png``).

Split by concern: inputs (:mod:`benchmarks.motion_clips`), statistics, targets and table rows
(:mod:`benchmarks.motion_tables`), FGD (:mod:`benchmarks.motion_fgd`), the time split
(:mod:`benchmarks.time_split`), what drives the motion (:mod:`benchmarks.motion_drivers`), the
face (:mod:`benchmarks.face_quality`), contact sheets (:mod:`benchmarks.motion_sheets`) and the
markdown report (:mod:`benchmarks.motion_report`); this module runs them.

Writes ``<out>/motion_quality.json`` (strict JSON, null where unavailable),
``<out>/motion_quality.md`` and contact sheets ``<out>/motion_quality/*.png`` (frames every
0.5 s, generated above real, one camera for both, "upper" and "full" views).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
from pathlib import Path

import torch

from benchmarks import face_quality, motion_drivers
from benchmarks.motion_clips import (
    HELD_OUT,
    LONG_CLIP_S,
    REAL_CLIP,
    SAMPLED_TEMPERATURE,
    SEED,
    SPEAKER,
    SPLIT_FRACTION,
    STATISTIC_SEEDS,
    TEXTGRID_CLIPS,
    WHISPER_CLIPS,
    repeated,
    segment,
    silence_input,
    textgrid_features,
    word_frames,
)
from benchmarks.motion_fgd import frechet
from benchmarks.motion_report import markdown, notes
from benchmarks.motion_sheets import draw_sheets
from benchmarks.motion_tables import (
    DIFFERENCE_TARGET,
    GREEDY_KEYS,
    LONG_DISTANCE_TARGET,
    LONG_LEAN_TARGET,
    SAMPLED_JERK_TARGET,
    SILENCE_TARGET,
    STATISTICS,
    STATISTICS_BY_KEY,
    clip_statistics,
    mean_statistics,
    speech_difference,
    statistic_rows,
    summary_row,
    trunk_lean,
)
from benchmarks.time_split import time_split
from semges import face_statistics, layout
from semges import motion_statistics as stats
from semges.motion import MotionClip, load_motion
from semges.pipeline import SemGesPipeline
from semges.render.gl_platform import configure_headless_gl
from semges.sampling import DEFAULT_TEMPERATURE
from semges.shipped_checkpoint import SHIPPED_CHECKPOINT
from semges.speech import SpeechFeatures
from semges.speech.audio import SAMPLE_RATE
from training import beat2_files as files
from training.evaluate import metrics_json
from training.fgd_model import fgd_fingerprint, load_fgd_autoencoder
from training.sample_data import BEAT2_SAMPLE_DIR

logger = logging.getLogger("benchmarks.motion_quality")

HERE = Path(__file__).resolve().parent


class Stopwatch:
    """Seconds per named stage, logged as each one ends."""

    def __init__(self) -> None:
        self.started = self.clock = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name], self.clock = now - self.clock, now
        logger.info("%s: %.1f s", name, self.seconds[name])

    def total(self) -> dict[str, float]:
        return {**self.seconds, "total": time.perf_counter() - self.started}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=SHIPPED_CHECKPOINT)
    parser.add_argument(
        "--split-checkpoint",
        type=Path,
        default=Path("runs/time_split/pipeline"),
        help="pipeline trained on the first 75 %% of the real clip",
    )
    parser.add_argument(
        "--source", type=Path, default=BEAT2_SAMPLE_DIR, help="flat BEAT2 sample files"
    )
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("OpenGL").setLevel(logging.WARNING)
    configure_headless_gl()
    watch, load_before = Stopwatch(), os.getloadavg()

    autoencoder = load_fgd_autoencoder()  # before any work: a missing one stops the run here
    pipeline = SemGesPipeline.from_pretrained(args.checkpoint)
    frontend = pipeline.frontend
    real = load_motion(args.source / f"{REAL_CLIP}.npz")
    real_words = files.read_words(args.source / f"{REAL_CLIP}.TextGrid")
    watch.lap("loading")
    features = {c: textgrid_features(frontend, args.source, c) for c in TEXTGRID_CLIPS}
    features.update({c: frontend.extract(str(args.source / f"{c}.wav")) for c in WHISPER_CLIPS})
    silence_features, silent = silence_input(frontend, args.source)
    watch.lap("speech_features")

    def generate(
        clip_features: SpeechFeatures, temperature: float = DEFAULT_TEMPERATURE, seed: int = SEED
    ) -> MotionClip:
        return pipeline.generate_motion(
            clip_features, speaker=SPEAKER, seed=seed, temperature=temperature
        )

    generated = {c: generate(f) for c, f in features.items()}
    other_seeds = {
        c: [generate(f, seed=s) for s in STATISTIC_SEEDS if s != SEED] for c, f in features.items()
    }
    sampled = {c: generate(f, SAMPLED_TEMPERATURE) for c, f in features.items()}
    greedy = {c: generate(f, 0.0) for c, f in features.items() if c in TEXTGRID_CLIPS}
    silence_motion = generate(silence_features)
    long_motion = generate(repeated(list(features.values()), round(LONG_CLIP_S * layout.FPS)))
    watch.lap("generation")

    real_stats = clip_statistics(real, word_frames(real_words, real.num_frames))
    held_rows = statistic_rows(
        real_stats,
        {
            c: mean_statistics(
                [clip_statistics(m, features[c].word_mask) for m in [motion, *other_seeds[c]]]
            )
            for c, motion in generated.items()
        },
    )
    split_start = round(SPLIT_FRACTION * real.num_frames)  # as training's time_range does
    fgd_reference = frechet(
        autoencoder, [segment(real, 0, split_start)], [segment(real, split_start, real.num_frames)]
    )
    held_rows.append(
        summary_row(
            "fgd",
            "FGD vs the real clip",
            fgd_reference,
            {c: frechet(autoencoder, [real], [m]) for c, m in generated.items()},
            None,
        )
    )
    silence_upper = stats.joint_positions(stats.upper_body_rows(silence_motion.poses))
    silence_ratio = stats.speed_ratio(
        stats.wrist_speed(silence_upper, layout.FPS), silent, silence_features.word_mask
    )
    other_rows = [
        summary_row(
            "silence_speed_ratio",
            "wrist speed in 10 s digital silence / speech",
            float("nan"),
            {"speech_silence_speech": silence_ratio},
            SILENCE_TARGET,
        ),
        summary_row(
            "long_clip_distance_m",
            f"{LONG_CLIP_S / 60:g}-minute clip: largest distance from the start (m)",
            stats.max_horizontal_distance(real.trans),
            {"long": stats.max_horizontal_distance(long_motion.trans)},
            LONG_DISTANCE_TARGET,
        ),
        summary_row(
            "long_clip_lean_deg",
            f"{LONG_CLIP_S / 60:g}-minute clip: trunk lean from upright, 99th percentile (deg)",
            trunk_lean(real),
            {"long": trunk_lean(long_motion)},
            LONG_LEAN_TARGET,
        ),
        summary_row(
            "long_clip_foot_speed_m_s",
            f"{LONG_CLIP_S / 60:g}-minute clip: weight-bearing foot median speed (m/s)",
            real_stats["stance_foot_speed_m_s"],
            {
                "long": stats.weight_bearing_foot_speed(
                    stats.world_joint_positions(long_motion.poses, long_motion.trans), layout.FPS
                )
            },
            STATISTICS_BY_KEY["stance_foot_speed_m_s"].target,
        ),
        summary_row(
            "sampled_jerk_m_s3",
            f"arm + finger jerk at temperature {SAMPLED_TEMPERATURE:g} (m/s^3)",
            real_stats["arm_hand_jerk_m_s3"],
            {
                c: clip_statistics(m, features[c].word_mask)["arm_hand_jerk_m_s3"]
                for c, m in sampled.items()
            },
            SAMPLED_JERK_TARGET,
        ),
        *[
            summary_row(
                f"greedy_{key}",
                f"{STATISTICS_BY_KEY[key].label} at temperature 0",
                real_stats[key],
                {c: clip_statistics(m, features[c].word_mask)[key] for c, m in greedy.items()},
                None,
            )
            for key in GREEDY_KEYS
        ],
        summary_row(
            "speech_difference_m",
            f"difference between two speeches (m): temperature {SAMPLED_TEMPERATURE:g} vs 0",
            speech_difference(greedy),
            {"0_2_2_vs_0_3_3": speech_difference(sampled)},
            DIFFERENCE_TARGET,
        ),
    ]
    seeded = {(c, SEED): m for c, m in generated.items()}
    seeded.update(
        {
            (c, s): m
            for c, motions in other_seeds.items()
            for s, m in zip([s for s in STATISTIC_SEEDS if s != SEED], motions)
        }
    )
    drivers = {
        "clips": [c.removeprefix("2_scott_") for c in HELD_OUT],
        "seeds": list(STATISTIC_SEEDS),
        "frames": min(m.num_frames for m in seeded.values()),
        "pairs": motion_drivers.pair_rows(seeded),
        "greedy_pairs": motion_drivers.pair_rows({(c, 0): m for c, m in greedy.items()}),
    }
    drivers["checks"] = motion_drivers.checks(drivers["pairs"])
    watch.lap("statistics")
    split, split_motion = time_split(
        args.split_checkpoint,
        frontend,
        args.source,
        real,
        split_start,
        autoencoder,
        args.checkpoint,
        {c: features[c] for c in TEXTGRID_CLIPS},
    )
    drivers["time_split"] = split.get("timing")
    watch.lap("time_split")
    sheets, gl_platform = draw_sheets(args.out, generated, real, split_motion, split_start, seeded)
    drivers["sheets"] = [str(p.relative_to(args.out)) for p in sheets[-2:]]
    watch.lap("contact_sheets")
    face = face_quality.face_results(
        frontend,
        args.source,
        real,
        real_words,
        generated,
        (silence_motion, silent, silence_features.word_mask),
        split,
        split_motion,
        split_start,
    )
    from semges.render.video_renderer import VideoRenderer  # after configure_headless_gl

    with VideoRenderer("mannequin", size=face_quality.STILL_SIZE) as renderer:
        still, openings = face_quality.open_and_closed_stills(
            renderer, silence_motion, silent, args.out / "motion_quality" / "face_open_closed.png"
        )
    face["stills"] = {"path": str(still.relative_to(args.out)), "openings": openings}
    if face["time_split"] is not None:
        curves = face_quality.split_curves(
            split_motion,
            segment(real, split_start, real.num_frames),
            face_statistics.speech_loudness(
                frontend.load(str(args.source / f"{REAL_CLIP}.wav")), SAMPLE_RATE, real.num_frames
            )[split_start:],
            args.out / "motion_quality" / "face_time_split_curves.png",
        )
        face["curves"] = str(curves.relative_to(args.out))
    watch.lap("face")

    result = {
        "benchmark": "motion_quality",
        "checkpoint": str(args.checkpoint),
        "command": (
            f"python -m benchmarks.motion_quality --checkpoint {args.checkpoint} "
            f"--split-checkpoint {args.split_checkpoint} --out {os.path.relpath(args.out)}"
        ),
        "speaker": SPEAKER,
        "seed": SEED,
        "real_clip": REAL_CLIP,
        "real_frames": real.num_frames,
        "real": real_stats,
        "held_out": {"clips": list(HELD_OUT), "rows": held_rows},
        "other_rows": other_rows,
        "drivers": drivers,
        "time_split": split,
        "fgd_real_reference": fgd_reference,
        "fgd_autoencoder": {
            "version": autoencoder.config.version,
            "fingerprint": fgd_fingerprint(autoencoder),
        },
        "face": face,
        "definitions": {s.key: s.definition for s in STATISTICS},
        "notes": notes(real_stats, real_words, real.num_frames),
        "contact_sheets": [str(p.relative_to(args.out)) for p in sheets],
        "timing_s": watch.total(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "gl_platform": gl_platform,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
    }
    (args.out / "motion_quality.json").write_text(metrics_json(result) + "\n")
    report = markdown(result)
    (args.out / "motion_quality.md").write_text(report)
    print(report)  # the report is this command's output
    return result


if __name__ == "__main__":
    main()
