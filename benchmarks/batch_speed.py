"""A test set in one command against one command per clip, and how fast the command lines start.

    .venv/bin/python -m benchmarks.batch_speed [--clips 20] [--baseline DIR] [--start-up-only]

1. Batch against single calls, same run, same clips: ``--clips`` pieces of 5 to 10 s of real
   speech (cut from the BEAT2 sample and ``assets/examples``, written to
   ``benchmarks/inputs/batch_speech/``) go through ``python -m semges generate`` once per clip,
   then in one call on the folder (default workers). The batch on half the clips (``--shard
   1/2``) shows that its peak memory follows the worker count, not the clip count: the
   resident memory of the whole process tree is sampled every 0.2 s.
2. Start-up: wall time of ``--help`` and of a usage error for every command line, and the
   renderer's time from process start to the first frame handed to the encoder (300 frames,
   mannequin). ``--baseline DIR`` measures the same in another tree (for example
   ``git archive <commit> | tar -x -C DIR``) for a before/after.

Writes ``benchmarks/batch_speed.json`` and ``benchmarks/batch_speed.md``. The machine may be
shared: load averages are recorded, and both sides of each comparison run in the same session.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.run import machine_description
from training.sample_data import BEAT2_SAMPLE_DIR

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
INPUT_DIR = HERE / "inputs"
SPEECH_DIR = INPUT_DIR / "batch_speech"
EXAMPLES_DIR = REPO / "assets" / "examples"
MOTION = REPO / "tests" / "data" / "2_scott_0_1_1.npz"
CLIP_SECONDS = (5, 6, 7, 8, 9, 10)  # cycled: 20 clips hold 147 s of speech
RSS_POLL_S = 0.2
HELP_REPEATS = 3
RENDER_FRAMES = 300
TARGET_SPEEDUP = 3.0
TARGET_HELP_S = 1.0
COMMAND_LINES = (
    ("semges", "--help"),
    ("semges", "generate", "--help"),
    ("semges", "generate"),
    ("semges.render", "--help"),
    ("semges.render",),
    ("benchmarks", "--help"),
    ("training.generator", "--help"),
    ("training.vqvae", "--help"),
    ("training.evaluate", "--help"),
    ("training.default_checkpoint", "--help"),
    ("training.synthetic", "--help"),
)
FIRST_FRAME_PROBE = """
import runpy, sys, time
t_start = float(open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19])
t_start /= __import__('os').sysconf('SC_CLK_TCK')
uptime = lambda: float(open('/proc/uptime').read().split()[0])
try:  # the render layer's place since issue 21; a baseline tree may hold the old one
    import semges.render.video_encoder as video
    render_module = 'semges.render'
except ImportError:
    import render.video as video
    render_module = 'render'
write, marks = video.VideoWriter.write, {}
def first(self, data):
    marks.setdefault('first', uptime() - t_start)
    return write(self, data)
video.VideoWriter.write = first
sys.argv = [render_module, *sys.argv[1:]]
try:
    runpy.run_module(render_module, run_name='__main__')
except SystemExit:
    pass
print('FIRST_FRAME_S', marks['first'], 'TOTAL_S', uptime() - t_start)
"""


def cut_clips(count: int) -> list[Path]:
    """``count`` wavs of 5-10 s of real speech, cut end to end from the sample speech."""
    import soundfile

    from semges.speech.audio import SAMPLE_RATE, load_audio

    sources = sorted(BEAT2_SAMPLE_DIR.glob("*.wav")) + sorted(EXAMPLES_DIR.glob("*.wav"))
    if not sources:
        raise SystemExit(f"no speech in {BEAT2_SAMPLE_DIR} or {EXAMPLES_DIR}")
    speech = np.concatenate([load_audio(path) for path in sources])
    SPEECH_DIR.mkdir(parents=True, exist_ok=True)
    paths, start = [], 0
    for index in range(count):
        length = CLIP_SECONDS[index % len(CLIP_SECONDS)] * SAMPLE_RATE
        if start + length > len(speech):
            raise SystemExit(f"not enough sample speech for {count} clips")
        path = SPEECH_DIR / f"clip{index:02d}.wav"
        if not path.is_file():
            soundfile.write(path, speech[start : start + length], SAMPLE_RATE, subtype="PCM_16")
        paths.append(path)
        start += length
    for stale in sorted(SPEECH_DIR.glob("clip*.wav"))[count:]:
        stale.unlink()
    return paths


def _tree_rss_bytes(root: int) -> int:
    """Resident memory of ``root`` and all its descendants (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    total = 0
    for pid in tree:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except OSError:
            continue
    return total * os.sysconf("SC_PAGE_SIZE")


def run_measured(
    command: list[str], cwd: Path = REPO, env: dict | None = None
) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, peak resident GB of the process tree, the completed process)."""
    begin = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.wait(RSS_POLL_S):
            peak[0] = max(peak[0], _tree_rss_bytes(child.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = child.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - begin
    completed = subprocess.CompletedProcess(command, child.returncode, stdout, stderr)
    return wall, peak[0] / 1024**3, completed


def _semges(*args: object) -> list[str]:
    return [sys.executable, "-m", "semges", "generate", *map(str, args)]


def batch_against_singles(clips: list[Path], out: Path) -> dict:
    singles, single_peaks = [], []
    for clip in clips:
        wall, peak, done = run_measured(_semges(clip, "-o", out / "single" / f"{clip.stem}.npz"))
        if done.returncode != 0:
            raise SystemExit(f"single call on {clip.name} failed:\n{done.stderr[-2000:]}")
        singles.append(wall)
        single_peaks.append(peak)
        print(f"single {clip.name}: {wall:.1f} s", flush=True)
    runs = {}
    for label, extra in (("batch", []), ("batch_half", ["--shard", "1/2"])):
        wall, peak, done = run_measured(_semges(SPEECH_DIR, "-o", out / label, "-q", "-v", *extra))
        if done.returncode != 0:
            raise SystemExit(f"{label} failed:\n{done.stderr[-2000:]}")
        workers = next((line for line in done.stderr.splitlines() if " workers x " in line), "")
        runs[label] = {
            "wall_s": round(wall, 2),
            "peak_rss_gb": round(peak, 3),
            "clips": len(list((out / label).glob("*.npz"))),
            "workers": workers.split(": ", 1)[-1],
        }
        print(f"{label}: {runs[label]}", flush=True)
    return {
        "clips": len(clips),
        "speech_s": sum(CLIP_SECONDS[i % len(CLIP_SECONDS)] for i in range(len(clips))),
        "single_calls_s": [round(s, 2) for s in singles],
        "single_total_s": round(sum(singles), 2),
        "single_peak_rss_gb": round(max(single_peaks), 3),
        **runs,
        "speedup": round(sum(singles) / runs["batch"]["wall_s"], 2),
        "same_motion": compare_outputs(out / "single", out / "batch"),
    }


def compare_outputs(single: Path, batch: Path) -> dict:
    """Frame counts and the largest pose difference between the two ways of running."""
    from semges.motion import load_motion

    same_frames, largest = 0, 0.0
    paths = sorted(single.glob("*.npz"))
    for path in paths:
        a, b = load_motion(path), load_motion(batch / path.name)
        if a.num_frames == b.num_frames:
            same_frames += 1
            largest = max(largest, float(np.abs(a.poses - b.poses).max()))
    return {
        "clips_with_equal_frame_counts": same_frames,
        "of": len(paths),
        "max_abs_pose_difference_rad": round(largest, 6),
    }


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def command_line_times(tree: Path) -> dict[str, dict]:
    """Median wall and CPU seconds of each command line in ``tree`` (``--help`` or a usage
    error). CPU time (user + system) depends less on what else the machine runs."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    times = {}
    for args in COMMAND_LINES:
        walls, cpus, status = [], [], None
        for _ in range(HELP_REPEATS):
            begin, cpu_begin = time.perf_counter(), _children_cpu_s()
            done = subprocess.run(
                [sys.executable, "-m", *args], cwd=tree, env=env, capture_output=True, text=True
            )
            walls.append(time.perf_counter() - begin)
            cpus.append(_children_cpu_s() - cpu_begin)
            status = done.returncode
        times["python -m " + " ".join(args)] = {
            "median_s": round(statistics.median(walls), 3),
            "median_cpu_s": round(statistics.median(cpus), 3),
            "exit_status": status,
        }
    return times


def render_first_frame(tree: Path, workdir: Path) -> dict:
    """Seconds from process start to the first frame handed to ffmpeg, and in all, for
    ``python -m semges.render`` on ``RENDER_FRAMES`` frames with speech (mannequin, 720x480)."""
    from semges.motion import MotionClip, load_motion, save_motion
    from semges.render.bodies import SMPLX_MODEL_ENV

    full = load_motion(MOTION)
    n = min(RENDER_FRAMES, full.num_frames)
    motion = save_motion(
        MotionClip(full.poses[:n], full.trans[:n], full.betas, full.expressions[:n]),
        workdir / "motion.npz",
    )
    speech = BEAT2_SAMPLE_DIR / f"{MOTION.stem}.wav"
    env = {**os.environ, "PYTHONPATH": str(tree), SMPLX_MODEL_ENV: ""}
    results = []
    for _ in range(HELP_REPEATS):
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                FIRST_FRAME_PROBE,
                str(motion),
                "--audio",
                str(speech),
                "-o",
                str(workdir / "video.mp4"),
                "-q",
            ],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
        )
        line = next(
            (out for out in done.stdout.splitlines() if out.startswith("FIRST_FRAME_S")), None
        )
        if line is None:
            raise SystemExit(f"render probe failed in {tree}:\n{done.stderr[-2000:]}")
        fields = line.split()
        results.append((float(fields[1]), float(fields[3])))
    first = statistics.median(r[0] for r in results)
    total = statistics.median(r[1] for r in results)
    return {
        "frames": n,
        "first_frame_s": round(first, 2),
        "total_s": round(total, 2),
        "frames_per_s_after_first": round(n / max(total - first, 1e-9), 1),
    }


def write_report(results: dict, path: Path) -> None:
    batch = results["batch"]
    lines = [
        "# A test set in one command, and command lines that start fast",
        "",
        f"Measured {results['date']} on {results['machine']} by "
        "`python -m benchmarks.batch_speed`; load average before/after "
        f"{results['load_average_before'][0]:.1f}/{results['load_average_after'][0]:.1f} "
        "(the machine is shared with other jobs, so both sides of every comparison ran in the "
        "same session). Default checkpoint, default settings (Whisper tiny.en, temperature 1).",
        "",
        f"## {batch['clips']} clips ({batch['speech_s']} s of real speech, 5-10 s each)",
        "",
        "| how | wall (s) | peak resident memory, whole process tree (GB) |",
        "|---|---:|---:|",
        f"| {batch['clips']} single calls `python -m semges generate CLIP -o CLIP.npz` | "
        f"{batch['single_total_s']:.1f} | {batch['single_peak_rss_gb']:.2f} (one call) |",
        f"| one batch call on the folder ({batch['batch']['workers']}) | "
        f"**{batch['batch']['wall_s']:.1f}** | {batch['batch']['peak_rss_gb']:.2f} |",
        f"| the batch on half the clips (`--shard 1/2`, {batch['batch_half']['clips']} clips) | "
        f"{batch['batch_half']['wall_s']:.1f} | {batch['batch_half']['peak_rss_gb']:.2f} |",
        "",
        f"Batch speed-up: **{batch['speedup']:.1f}x** (target >= {TARGET_SPEEDUP:g}x). Peak "
        f"memory with {batch['batch_half']['clips']} and {batch['batch']['clips']} clips: "
        f"{batch['batch_half']['peak_rss_gb']:.2f} and {batch['batch']['peak_rss_gb']:.2f} GB: "
        "it follows the number of workers, not of clips. Same motion either way: "
        f"{batch['same_motion']['clips_with_equal_frame_counts']}/{batch['same_motion']['of']} "
        "clips with equal frame counts, largest pose difference "
        f"{batch['same_motion']['max_abs_pose_difference_rad']:g} rad.",
        "",
        "## Start-up: `--help` and usage errors (median of 3, seconds)",
        "",
    ]
    start_up = results.get("start_up")
    if start_up is not None:
        lines += [
            f"Measured {start_up['date']} on {start_up['machine']}; load average "
            f"{start_up['load_average'][0]:.1f}.",
            "",
        ]
    baseline = results.get("baseline")
    header = "| command line | exit | now: wall | now: CPU |"
    header += " before: wall | before: CPU |" if baseline else ""
    lines += [header, "|---|---:|---:|---:|" + ("---:|---:|" if baseline else "")]
    for command, now in results["command_lines"].items():
        row = (
            f"| `{command}` | {now['exit_status']} | **{now['median_s']:.2f}** | "
            f"{now['median_cpu_s']:.2f} |"
        )
        if baseline:
            before = baseline["command_lines"][command]
            row += f" {before['median_s']:.2f} | {before['median_cpu_s']:.2f} |"
        lines.append(row)
    render = results["render"]
    lines += [
        "",
        f"## Renderer: `python -m semges.render` on {render['frames']} frames with speech "
        "(mannequin, 720x480; median of 3)",
        "",
        "| | process start to first frame (s) | in all (s) | frames / s after the first |",
        "|---|---:|---:|---:|",
        f"| now | **{render['first_frame_s']:.2f}** | {render['total_s']:.2f} | "
        f"{render['frames_per_s_after_first']:.1f} |",
    ]
    if baseline:
        before = baseline["render"]
        lines.append(
            f"| before | {before['first_frame_s']:.2f} | {before['total_s']:.2f} | "
            f"{before['frames_per_s_after_first']:.1f} |"
        )
        lines += ["", f"Before: {baseline['tree']} ({baseline['description']})."]
    lines += ["", "Notes:", ""] + [f"- {note}" for note in NOTES]
    path.write_text("\n".join(lines) + "\n")


NOTES = (
    "A single call pays, every time, for starting Python, importing torch, loading Whisper, "
    "MiniLM and the checkpoint; the batch pays it once per worker and runs the clips on all "
    "cores at once (one torch and Whisper thread per worker on this machine).",
    "Start-up: the command lines parse their arguments before importing torch, the renderer "
    "or the models; `semges.motion` imports torch only for its 6D-rotation helpers, so the "
    "renderer (mannequin) no longer imports torch at all (torch and roma, which pulls in "
    "torch._dynamo, were about 3 s of the renderer's start); the renderer creates its GL "
    "context while it fits the camera.",
    "The `training.*` entry points parse their arguments before importing torch: the model "
    "configs live in the torch-free `semges/models/configs.py`.",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="another source tree to time the start-up of (before/after)",
    )
    parser.add_argument("--baseline-description", default="the tree before this change")
    parser.add_argument("--out", type=Path, default=HERE / "batch_speed")
    parser.add_argument(
        "--start-up-only",
        action="store_true",
        help="measure part 2 only; part 1 is kept from the results file",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = INPUT_DIR / "batch_speed_out"
    if work.exists():
        import shutil

        shutil.rmtree(work)
    work.mkdir(parents=True)
    if args.start_up_only:
        results = json.loads(args.out.with_suffix(".json").read_text())
    else:
        results = {
            "date": datetime.date.today().isoformat(),
            "machine": machine_description(),
            "load_average_before": os.getloadavg(),
        }
    results["start_up"] = {
        "date": datetime.date.today().isoformat(),
        "machine": machine_description(),
        "load_average": os.getloadavg(),
    }
    results["command_lines"] = command_line_times(REPO)
    results["render"] = render_first_frame(REPO, work)
    results.pop("baseline", None)
    if args.baseline is not None:
        results["baseline"] = {
            "tree": str(args.baseline),
            "description": args.baseline_description,
            "command_lines": command_line_times(args.baseline.resolve()),
            "render": render_first_frame(args.baseline.resolve(), work),
        }
    print(json.dumps({k: results[k] for k in ("command_lines", "render")}, indent=1), flush=True)
    if not args.start_up_only:
        results["batch"] = batch_against_singles(cut_clips(args.clips), work)
        results["load_average_after"] = os.getloadavg()
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    write_report(results, args.out.with_suffix(".md"))
    print(args.out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
