"""End-to-end speed and memory: an audio file to a finished mp4, on this machine's CPU.

    python -m benchmarks [--lengths 10 60 600] [--checkpoint assets/checkpoint]

For each length, real BEAT2 speech (the sample clips in ``data/beat2``, concatenated and
repeated as needed) is written to ``benchmarks/inputs/`` (ignored by git) and run in a fresh
process, stage by stage, the way the app runs it: load, transcribe, text features, audio
features, generation, then posing + rendering + encoding + muxing (overlapped inside
``semges.render.VideoRenderer``, so measured as one wall time; posing and drawing alone are measured
once more on their own for the breakdown). Models are loaded once per process, as in the app;
their loading time is reported apart. The longest length is run without video (speech to
motion), as the target asks. Peak resident memory comes from the child's ``ru_maxrss``.

Writes ``benchmarks/results.md`` (a table, with the machine and date) and ``results.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from semges.shipped_checkpoint import DEFAULT_CHECKPOINT_DIR
from training.sample_data import BEAT2_SAMPLE_DIR

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
INPUT_DIR = HERE / "inputs"
DEFAULT_LENGTHS_S = (10, 60, 600)
VIDEO_MAX_S = 60  # longer inputs are timed to motion only ("10 minutes ... (no video)")
TARGETS = {
    "generation_realtime_factor": 200.0,
    "video_10s_total_s": 10.0,
    "video_60s_total_s": 60.0,
    "motion_600s_total_s": 60.0,
    "peak_memory_600s_gb": 3.0,
}


NOTES = (
    "Whisper (CTranslate2) and torch share one libgomp: when their thread teams together "
    "outnumber the cores, libgomp stops spin-waiting and torch's small kernels slow down after "
    "the first Whisper call. Whisper therefore takes half the cores "
    "(semges.speech.transcription.whisper_threads) and loading it leaves torch's thread count "
    "alone; the stage times above show the effect.",
    "Peak memory grows with the speech's length through whole-clip arrays (16 kHz samples, "
    "log-mel, 50 Hz Whisper states, 30 fps features, the output motion), all linear in "
    "length; the generator itself works on a bounded batch of windows.",
    "Rendering overlaps posing, drawing (OSMesa llvmpipe) and ffmpeg encoding; drawing is the "
    "bound, so the render stage takes most of a clip's time.",
)


def build_input(seconds: int, speech_dir: Path) -> Path:
    """A 16 kHz wav of ``seconds`` of real speech: the BEAT2 clips end to end, repeated."""
    import soundfile

    from semges.speech.audio import SAMPLE_RATE, load_audio

    path = INPUT_DIR / f"speech_{seconds}s.wav"
    if path.is_file():
        return path
    clips = sorted(speech_dir.glob("*.wav"))
    if not clips:
        raise SystemExit(f"no BEAT2 speech found in {speech_dir}; pass --speech-dir")
    pieces, needed = [], seconds * SAMPLE_RATE
    while sum(p.shape[0] for p in pieces) < needed:
        pieces.extend(load_audio(clip) for clip in clips)
    INPUT_DIR.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.concatenate(pieces)[:needed], SAMPLE_RATE, subtype="PCM_16")
    return path


def run_one(speech: Path, checkpoint: Path, with_video: bool, out_dir: Path) -> dict:
    """Time every stage of one clip in this process (called in a fresh child process)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from semges.motion import save_motion
    from semges.pipeline import SemGesPipeline
    from semges.speech import SpeechFeatures
    from semges.speech.audio import SAMPLE_RATE
    from semges.speech.frontend import SpeechFrontend
    from semges.speech.text_features import frame_word_features

    stages: dict[str, float] = {}
    started = time.perf_counter()
    frontend = SpeechFrontend()
    pipeline = SemGesPipeline.from_pretrained(checkpoint, frontend=frontend)
    pipeline.warm_up()  # as the app does at start-up
    renderer = None
    if with_video:
        from semges.render import VideoRenderer

        renderer = VideoRenderer()
    model_loading_s = time.perf_counter() - started

    def stage(name: str, work):
        begin = time.perf_counter()
        value = work()
        stages[name] = time.perf_counter() - begin
        return value

    samples = stage("load", lambda: frontend.load(speech))
    words = stage("transcribe", lambda: frontend.transcribe((samples, SAMPLE_RATE)))
    audio_matrix = stage("audio_features", lambda: frontend.audio_features(samples))

    def text_features():
        embeddings = frontend.word_encoder.embed(words)
        return frame_word_features(words, embeddings, audio_matrix.shape[0])

    text_matrix, mask = stage("text_features", text_features)
    features = SpeechFeatures(audio_matrix, text_matrix, mask, words)
    motion = stage("generation", lambda: pipeline.generate_motion(features, seed=0))
    generation_alone_s = generation_alone(pipeline, features)
    stage("write_motion", lambda: save_motion(motion, out_dir / "motion.npz"))
    total = sum(stages.values())
    breakdown: dict[str, float] = {}
    if renderer is not None:
        video = out_dir / "video.mp4"
        stage("render_encode_mux", lambda: renderer.render_video(motion, video, audio_path=speech))
        total += stages["render_encode_mux"]
        breakdown = render_breakdown(renderer, motion)
    duration = samples.shape[0] / SAMPLE_RATE
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "speech_s": round(duration, 2),
        "frames": motion.num_frames,
        "video": with_video,
        "words": len(words),
        "model_loading_s": round(model_loading_s, 2),
        "stages_s": {k: round(v, 3) for k, v in stages.items()},
        "render_breakdown_s": {k: round(v, 3) for k, v in breakdown.items()},
        "total_s": round(total, 2),
        "realtime_factor": round(duration / total, 2),
        "generation_realtime_factor": round(duration / stages["generation"], 1),
        "generation_alone_s": round(generation_alone_s, 4),
        "generation_alone_realtime_factor": round(duration / generation_alone_s, 1),
        "peak_rss_gb": round(peak_kb / 1024**2, 3),
    }


def generation_alone(pipeline, features, repeats: int = 3) -> float:
    """Median seconds of features -> poses, timed on its own (caches warm, nothing between)."""
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        pipeline.generate_motion(features, seed=0)
        times.append(time.perf_counter() - begin)
    return float(np.median(times))


def render_breakdown(renderer, motion) -> dict[str, float]:
    """Posing alone and posing + drawing (no encoder), to show where render time goes."""
    body = renderer.body
    begin = time.perf_counter()
    for start in range(0, motion.num_frames, 64):
        body.pose(motion, start, min(start + 64, motion.num_frames))
    posing = time.perf_counter() - begin
    begin = time.perf_counter()
    for _ in renderer.render_frames(motion):
        pass
    drawing = time.perf_counter() - begin
    return {"posing_alone": posing, "posing_and_drawing": drawing}


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}"


def write_report(results: list[dict], path_md: Path) -> None:
    stage_names = [
        "load",
        "transcribe",
        "text_features",
        "audio_features",
        "generation",
        "write_motion",
        "render_encode_mux",
    ]
    lines = [
        "# End-to-end speed and memory",
        "",
        f"Measured {datetime.date.today().isoformat()} on {machine_description()} by "
        "`python -m benchmarks`. Models are loaded once per process (as in the app) and that "
        "load is reported apart. Seconds per stage:",
        "",
        "| speech | video | " + " | ".join(stage_names) + " | total | x real time | "
        "generation x real time (in path / alone) | peak RSS (GB) | model loading |",
        "|---" * (len(stage_names) + 7) + "|",
    ]
    for r in results:
        cells = [
            f"{r['stages_s'].get(s, 0):.2f}" if s in r["stages_s"] else "-" for s in stage_names
        ]
        lines.append(
            f"| {r['speech_s']:.0f} s | {'yes' if r['video'] else 'no'} | "
            + " | ".join(cells)
            + f" | **{r['total_s']:.1f}** | {r['realtime_factor']:.1f} | "
            f"{r['generation_realtime_factor']:.0f} / {r['generation_alone_realtime_factor']:.0f} | {r['peak_rss_gb']:.2f} | {r['model_loading_s']:.1f} s |"
        )
    lines += ["", "Render breakdown (measured again on its own, same clip):", ""]
    for r in results:
        if r["render_breakdown_s"]:
            b = r["render_breakdown_s"]
            fps_draw = r["frames"] / b["posing_and_drawing"]
            fps_all = r["frames"] / r["stages_s"]["render_encode_mux"]
            lines.append(
                f"- {r['speech_s']:.0f} s: posing alone {b['posing_alone']:.2f} s, posing + drawing "
                f"{b['posing_and_drawing']:.2f} s ({fps_draw:.0f} fps), with encoding and muxing "
                f"overlapped {r['stages_s']['render_encode_mux']:.2f} s ({fps_all:.0f} fps)"
            )
    lines += ["", "Targets:", ""]
    lines += [f"- {line}" for line in check_targets(results)]
    lines += ["", "Notes:", ""] + [f"- {note}" for note in NOTES]
    path_md.write_text("\n".join(lines) + "\n")


def check_targets(results: list[dict]) -> list[str]:
    by_length = {round(r["speech_s"]): r for r in results}
    report = []
    slowest = min(results, key=lambda r: r["generation_alone_realtime_factor"])
    in_path = min(results, key=lambda r: r["generation_realtime_factor"])
    report.append(
        f"generation alone (median of 3): {slowest['generation_alone_realtime_factor']:.0f}x "
        f"real time at the slowest ({slowest['speech_s']:.0f} s clip; target >= "
        f"{TARGETS['generation_realtime_factor']:.0f}x); inside the full path, right "
        f"after Whisper, {in_path['generation_realtime_factor']:.0f}x at the slowest "
        f"({in_path['speech_s']:.0f} s clip)"
    )
    for seconds, key in ((10, "video_10s_total_s"), (60, "video_60s_total_s")):
        if seconds in by_length and by_length[seconds]["video"]:
            total = by_length[seconds]["total_s"]
            report.append(
                f"{seconds} s clip to playable mp4: {total:.1f} s (target <= {TARGETS[key]:.0f} s)"
            )
    if 600 in by_length:
        r = by_length[600]
        report.append(
            f"10 min speech to motion: {r['total_s']:.1f} s (target <= "
            f"{TARGETS['motion_600s_total_s']:.0f} s), peak memory {r['peak_rss_gb']:.2f} GB "
            f"(target <= {TARGETS['peak_memory_600s_gb']:.0f} GB)"
        )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--lengths",
        type=int,
        nargs="+",
        default=list(DEFAULT_LENGTHS_S),
        help="speech lengths in seconds",
    )
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT_DIR)
    parser.add_argument("--speech-dir", type=Path, default=BEAT2_SAMPLE_DIR)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--child", nargs=3, metavar=("SPEECH", "VIDEO", "OUT_DIR"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        speech, video, out_dir = args.child
        result = run_one(Path(speech), args.checkpoint, video == "1", Path(out_dir))
        print("RESULT " + json.dumps(result))
        return
    results = []
    for seconds in args.lengths:
        speech = build_input(seconds, args.speech_dir)
        out_dir = INPUT_DIR / f"out_{seconds}s"
        out_dir.mkdir(parents=True, exist_ok=True)
        video = "1" if seconds <= VIDEO_MAX_S else "0"
        command = [
            sys.executable,
            "-m",
            "benchmarks",
            "--checkpoint",
            str(args.checkpoint),
            "--child",
            str(speech),
            video,
            str(out_dir),
        ]
        completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        if completed.returncode != 0:
            raise SystemExit(f"benchmark of {seconds} s failed:\n{completed.stderr[-3000:]}")
        line = next(out for out in completed.stdout.splitlines() if out.startswith("RESULT "))
        results.append(json.loads(line.removeprefix("RESULT ")))
        print(json.dumps(results[-1]), flush=True)
    results_json = {
        "date": datetime.date.today().isoformat(),
        "machine": machine_description(),
        "load_average": os.getloadavg(),
        "targets": TARGETS,
        "results": results,
    }
    args.out.with_suffix(".json").write_text(json.dumps(results_json, indent=2))
    write_report(results, args.out.with_suffix(".md"))
    print(args.out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
