"""The live path measured: latency, compute, CPU load and memory of ``semges.live``, through
the library and the command line, and how its motion compares with the offline pipeline's.

    python -m benchmarks.live [--seconds 30] [--long-minutes 30] [--page]

- **Library**: each held-out clip (``data/beat2`` 0_2_2, 0_3_3, 0_5_5, cut to ``--seconds``)
  pushed in random 0.1-0.5 s pieces at real-time pace (:func:`semges.live.stream.run_stream`):
  latency p50/p95 (from the arrival of a frame's audio instant to the frame being ready),
  compute per second of speech (the steps and the word recognition thread), CPU load, the
  frame count against the exact one, and the frames' independence of the piece sizes (the
  same clip in 0.05-0.15 s pieces, pushed as fast as it computes, each step waiting for its
  words); streaming recognition: words used, their lag, decodes late or dropped.
- **Command line**: ``python -m semges live CLIP --realtime --report`` on the first clip.
- **Long stream**: ``--long-minutes`` of the clips end to end, pushed as fast as they compute,
  with the resident memory sampled every minute of speech (flat means bounded state).
- **Motion**: the live motion's issue-10 statistics next to the live motion without words and
  the offline pipeline's on the same clips; how far the words move the choreography (wrist
  activity correlation with and without them, same seed); the timing rows (different speeches at one seed, one speech at two seeds); the jerk
  at piece boundaries against elsewhere.
- **Page** (``--page``): ``benchmarks.live_page`` (chromium with a fake microphone).

Writes ``benchmarks/live.json`` and ``.md``, naming the machine and its load. The process sets
OMP_WAIT_POLICY=PASSIVE before torch loads, as ``python -m semges`` does.
"""

from __future__ import annotations

from semges.openmp import prefer_passive_waits

prefer_passive_waits()  # before torch loads, as python -m semges does

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CLIPS = ("2_scott_0_2_2", "2_scott_0_3_3", "2_scott_0_5_5")
PIECES_S = (0.1, 0.5)
SMALL_PIECES_S = (0.05, 0.15)
TARGETS = {"latency_p95_s": 0.8, "compute_s_per_audio_s": 0.5}
SEEDS = (0, 1)


def load_clip(name: str, seconds: float) -> np.ndarray:
    from semges.speech.audio import SAMPLE_RATE, decode_audio

    samples = decode_audio(REPO / "data" / "beat2" / f"{name}.wav").samples
    return samples[: round(seconds * SAMPLE_RATE)]


def stream(pipeline, samples, seed, pieces_s, realtime, words=True):
    """The live motion and report of ``samples``; played faster than real time, each step
    waits for its words (the frames of real-time play when no decode is late)."""
    from semges.live import LiveGenerator
    from semges.live.stream import file_pieces, run_stream
    from semges.shipped_checkpoint import SHIPPED_CHECKPOINT

    live = LiveGenerator.from_pretrained(
        SHIPPED_CHECKPOINT,
        seed=seed,
        pipeline=pipeline,
        words=words,
        wait_for_words=not realtime,
    )
    return run_stream(live, file_pieces(samples, pieces_s, realtime, seed=seed), pieces_s, realtime)


def motion_rows(motions: dict, without_words: dict, offline: dict) -> dict:
    """Statistics of the live motions (with and without words) and the offline ones, the
    timing correlations, and how far the words move the live choreography."""
    from semges import layout
    from semges import motion_statistics as stats

    rows = {}

    def positions_of(table: dict) -> dict:
        return {k: stats.world_joint_positions(m.poses, m.trans) for k, m in table.items()}

    positions, unworded_positions = positions_of(motions), positions_of(without_words)
    tables = (
        ("live", positions),
        ("live without words", unworded_positions),
        ("offline", positions_of(offline)),
    )
    for label, table in tables:
        every = list(table.values())
        rows[label] = {
            "wrist_std_m": float(np.mean([stats.wrist_position_std(p) for p in every])),
            "wrist_height_p95_m": float(np.mean([stats.wrist_height_percentile(p) for p in every])),
            "left_right_correlation": float(
                np.mean([stats.left_right_height_correlation(p) for p in every])
            ),
            "arm_hand_jerk": float(np.mean([stats.arm_hand_jerk(p, layout.FPS) for p in every])),
            "weight_bearing_foot_m_s": float(
                np.mean([stats.weight_bearing_foot_speed(p, layout.FPS) for p in every])
            ),
        }
    activity = {k: stats.wrist_activity(p, layout.FPS) for k, p in positions.items()}
    unworded = {k: stats.wrist_activity(p, layout.FPS) for k, p in unworded_positions.items()}
    clips = sorted({clip for clip, _ in activity})
    same_seed = [
        stats.correlation(activity[(a, 0)], activity[(b, 0)])
        for i, a in enumerate(clips)
        for b in clips[i + 1 :]
    ]
    same_speech = [stats.correlation(activity[(c, 0)], activity[(c, 1)]) for c in clips]
    rows["timing"] = {
        "different_speech_same_seed": float(np.mean(same_seed)),
        "same_speech_different_seed": float(np.mean(same_speech)),
        "with_and_without_words_same_seed": float(
            np.mean([stats.correlation(activity[k], unworded[k]) for k in unworded])
        ),
    }
    return rows


def boundary_jerk(motion, boundaries: np.ndarray) -> dict:
    """Mean arm/hand jerk of frames at piece boundaries against all frames."""
    from semges import layout
    from semges import motion_statistics as stats

    positions = stats.world_joint_positions(motion.poses, motion.trans)
    arms = positions[:, list(stats.ARMS_AND_HANDS)]
    jerk = np.linalg.norm(np.diff(arms, n=3, axis=0), axis=-1).mean(axis=1) * layout.FPS**3
    at = boundaries[(boundaries >= 2) & (boundaries < jerk.shape[0])] - 2
    return {"at_boundaries": float(jerk[at].mean()), "everywhere": float(jerk.mean())}


def draw_sheet(clip: str, live: dict, offline, path: Path) -> Path:
    """A contact sheet of ``clip``: the live motion at seeds 0 and 1, the offline motion at
    seed 0, and the real speaker (0_1_1: the only clip with motion), every 0.5 s."""
    from benchmarks.contact_sheets import SHEET_FRAME, contact_sheet
    from benchmarks.motion_clips import REAL_CLIP
    from semges.motion import load_motion
    from semges.render.gl_platform import configure_headless_gl

    configure_headless_gl()
    from semges.render.video_renderer import VideoRenderer

    rows = {f"live seed {seed}": motion for seed, motion in live.items()}
    rows["offline seed 0"] = offline
    rows["real 0_1_1"] = load_motion(REPO / "data" / "beat2" / f"{REAL_CLIP}.npz")
    name = clip.removeprefix("2_scott_")
    with VideoRenderer("mannequin", size=SHEET_FRAME) as renderer:
        return contact_sheet(
            renderer, rows, "upper", f"{name}: live (two seeds) vs offline vs real", path
        )


def long_stream(pipeline, minutes: float) -> dict:
    from semges.live import LiveGenerator
    from semges.shipped_checkpoint import SHIPPED_CHECKPOINT
    from semges.speech.audio import SAMPLE_RATE

    speech = np.concatenate([load_clip(c, 1e9) for c in CLIPS])
    live = LiveGenerator.from_pretrained(SHIPPED_CHECKPOINT, pipeline=pipeline)
    # faster than real time the recogniser cannot keep up: most decodes are dropped, which
    # also shows that a busy machine's backlog stays bounded
    piece = round(0.25 * SAMPLE_RATE)
    total = round(minutes * 60 * SAMPLE_RATE)
    rss, frames, position, start = [], 0, 0, time.perf_counter()
    while position < total:
        offset = position % speech.shape[0]
        frames += live.push(speech[offset : offset + piece]).num_frames
        position += min(piece, speech.shape[0] - offset)
        if position // (60 * SAMPLE_RATE) > len(rss) - 1:
            rss.append(_rss_mb())
    frames += live.flush().num_frames
    return {
        "minutes": minutes,
        "frames": frames,
        "words": live.word_statistics(),
        "compute_s_per_audio_s": round((time.perf_counter() - start) / (total / SAMPLE_RATE), 3),
        "rss_mb_per_minute": rss,
        "rss_growth_mb_after_first_minute": round(rss[-1] - rss[1], 1) if len(rss) > 1 else 0.0,
    }


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(argv: list[str] | None = None) -> dict:
    from semges.live.config import read_live_config
    from semges.pipeline import SemGesPipeline
    from semges.shipped_checkpoint import SHIPPED_CHECKPOINT
    from semges.speech.audio import SAMPLE_RATE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--long-minutes", type=float, default=30.0)
    parser.add_argument("--page", action="store_true")
    args = parser.parse_args(argv)
    import torch

    from semges.live.command import LIVE_TORCH_THREADS

    torch.set_num_threads(LIVE_TORCH_THREADS)
    load_before = os.getloadavg()
    pipeline = SemGesPipeline.from_pretrained(SHIPPED_CHECKPOINT)
    config = read_live_config(SHIPPED_CHECKPOINT)
    pipeline.warm_up()
    results: dict = {"library": {}, "machine": None}
    motions, without_words, offline, jerks = {}, {}, {}, {}
    for clip in CLIPS:
        samples = load_clip(clip, args.seconds)
        for seed in SEEDS:
            motion, report = stream(pipeline, samples, seed, PIECES_S, realtime=True)
            motions[(clip, seed)] = motion
            results["library"][f"{clip}/seed{seed}"] = report.to_dict()
            results["machine"] = report.machine
            without_words[(clip, seed)] = stream(
                pipeline, samples, seed, PIECES_S, realtime=False, words=False
            )[0]
        small, _ = stream(pipeline, samples, 0, SMALL_PIECES_S, realtime=False)
        difference = float(np.abs(small.poses - motions[(clip, 0)].poses).max())
        results["library"][f"{clip}/seed0"]["max_difference_other_pieces"] = difference
        offline[clip] = pipeline((samples, SAMPLE_RATE), seed=0).motion
        steps = np.arange(
            config.first_step_end - config.lookahead_frames,
            motion.num_frames,
            config.features.hop_frames,
        )
        jerks[clip] = boundary_jerk(motions[(clip, 0)], steps)
    draw_sheet(
        CLIPS[0],
        {seed: motions[(CLIPS[0], seed)] for seed in SEEDS},
        offline[CLIPS[0]],
        HERE / "live_sheet.png",
    )
    reports = list(results["library"].values())
    results["library_summary"] = {
        key: float(np.max([r[key] for r in reports]))
        for key in ("latency_p50_s", "latency_p95_s", "compute_s_per_audio_s", "cpu_load")
    }
    results["library_summary"]["frames_exact"] = all(
        r["frames"] == r["expected_frames"] for r in reports
    )
    for key in ("step_compute_s_per_audio_s", "recognition_s_per_audio_s"):
        results["library_summary"][key] = float(np.max([r[key] for r in reports]))
    words = [r["words"] for r in reports]
    results["library_summary"]["words"] = {
        "words_per_run": [w["words"] for w in words],
        "word_lag_p50_s": float(np.median([w["word_lag_p50_s"] for w in words])),
        "word_lag_p95_s": float(np.max([w["word_lag_p95_s"] for w in words])),
        "late_decodes": int(np.sum([w["late_decodes"] for w in words])),
        "dropped_decodes": int(np.sum([w["dropped_decodes"] for w in words])),
    }
    results["motion"] = motion_rows(motions, without_words, {c: offline[c] for c in CLIPS})
    results["motion"]["step_boundary_jerk"] = {
        "at_boundaries": float(np.mean([j["at_boundaries"] for j in jerks.values()])),
        "everywhere": float(np.mean([j["everywhere"] for j in jerks.values()])),
    }
    with tempfile.TemporaryDirectory() as folder:
        report_path = Path(folder) / "report.json"
        clip_path = Path(folder) / "clip.wav"
        import soundfile as sf

        sf.write(clip_path, load_clip(CLIPS[0], args.seconds), SAMPLE_RATE)
        command = [sys.executable, "-m", "semges", "live", str(clip_path), "--realtime"]
        command += ["-o", str(Path(folder) / "m.npz"), "--report", str(report_path)]
        subprocess.run(command, check=True, cwd=REPO, capture_output=True)
        results["cli"] = json.loads(report_path.read_text())
    results["long_stream"] = long_stream(pipeline, args.long_minutes)
    if args.page:
        from benchmarks import live_page

        results["page"] = live_page.run()
    results["load_average_before"] = [round(v, 2) for v in load_before]
    results["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["targets"] = TARGETS
    (HERE / "live.json").write_text(json.dumps(results, indent=2) + "\n")
    (HERE / "live.md").write_text(markdown(results))
    return results


def markdown(results: dict) -> str:
    summary, cli, long = results["library_summary"], results["cli"], results["long_stream"]
    motion = results["motion"]
    lines = [
        "# Live path (benchmarks/live.py)",
        "",
        f"Machine: {results['machine']}; load average before {results['load_average_before']},"
        f" after {results['load_average_after']}.",
        "",
        "## Library, held-out clips in 0.1-0.5 s pieces at real-time pace (worst clip and seed)",
        "",
        "| latency p50 | latency p95 (target 0.8) | compute s per s (target 0.5) | CPU load |"
        " frames exact |",
        "|---|---|---|---|---|",
        f"| {summary['latency_p50_s']:.2f} s | {summary['latency_p95_s']:.2f} s |"
        f" {summary['compute_s_per_audio_s']:.2f} | {summary['cpu_load']:.2f} |"
        f" {summary['frames_exact']} |",
        "",
        f"Compute split: the steps {summary['step_compute_s_per_audio_s']:.2f} s per s, word"
        f" recognition (its own thread) {summary['recognition_s_per_audio_s']:.2f} s per s.",
        "",
        f"Streaming words: {summary['words']['words_per_run']} words used per run; lag from a"
        f" word's end to its first use p50 {summary['words']['word_lag_p50_s']:.2f} s, p95"
        f" {summary['words']['word_lag_p95_s']:.2f} s (worst run); decodes late"
        f" {summary['words']['late_decodes']}, dropped {summary['words']['dropped_decodes']}"
        " (all runs).",
        "",
        "Largest difference between the same clip in 0.1-0.5 s and in 0.05-0.15 s pieces: "
        + ", ".join(
            f"{k.split('/')[0]} {v['max_difference_other_pieces']:.1e}"
            for k, v in results["library"].items()
            if "max_difference_other_pieces" in v
        ),
        "",
        "## Command line (`python -m semges live CLIP --realtime`)",
        "",
        f"latency p50 {cli['latency_p50_s']:.2f} s, p95 {cli['latency_p95_s']:.2f} s, compute"
        f" {cli['compute_s_per_audio_s']:.2f} s per s, CPU load {cli['cpu_load']:.2f},"
        f" {cli['frames']} of {cli['expected_frames']} frames.",
        "",
        f"## {long['minutes']:g}-minute stream (as fast as it computes)",
        "",
        f"{long['frames']} frames, compute {long['compute_s_per_audio_s']:.2f} s per s; resident"
        f" memory per minute (MB): {long['rss_mb_per_minute']}; growth after the first minute"
        f" {long['rss_growth_mb_after_first_minute']} MB. Words: {long['words']}.",
        "",
        "## Motion: live against offline on the same clips (seed 0)",
        "",
        "Contact sheet: `benchmarks/live_sheet.png` (0_2_2: live at two seeds, offline, real).",
        "",
        "| | wrist std (m) | wrist height p95 (m) | L/R correlation | arm/hand jerk |"
        " planted foot (m/s) |",
        "|---|---|---|---|---|---|",
    ]
    for label in ("live", "live without words", "offline"):
        row = motion[label]
        lines.append(
            f"| {label} | {row['wrist_std_m']:.3f} | {row['wrist_height_p95_m']:.3f} |"
            f" {row['left_right_correlation']:.2f} | {row['arm_hand_jerk']:.1f} |"
            f" {row['weight_bearing_foot_m_s']:.3f} |"
        )
    timing, jerk = motion["timing"], motion["step_boundary_jerk"]
    lines += [
        "",
        f"Timing (wrist activity correlation): different speeches at one seed"
        f" {timing['different_speech_same_seed']:.2f}; one speech at two seeds"
        f" {timing['same_speech_different_seed']:.2f}; one speech and seed with and without"
        f" words {timing['with_and_without_words_same_seed']:.2f}.",
        f"Arm/hand jerk at step boundaries {jerk['at_boundaries']:.1f}, everywhere"
        f" {jerk['everywhere']:.1f} (m/s^3).",
    ]
    if "page" in results:
        lines += ["", "## Page", "", "See benchmarks/live_page.md."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
