"""Long speech through the command line: time and peak memory of ``python -m semges``.

Makes recordings of 10, 30 and 60 minutes by repeating the real speech at hand (the BEAT2
sample clips and ``assets/examples``, end to end), then runs each command in its own process
and records its wall time and peak resident memory (``os.wait4``'s ``ru_maxrss``, the process
and its own threads). On the 10-minute recording it times ``transcribe`` and ``generate`` back
to back in the same run: their ratio is what generation adds to recognition. The machine may
be shared: the load average before each command is recorded.

    python -m benchmarks.long_speech [--minutes 10 30 60]

writes benchmarks/long_speech.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from training.sample_data import BEAT2_SAMPLE_DIR

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
EXAMPLES = REPO / "assets" / "examples"
RATIO_MINUTES = 10
TARGET_RATIO = 1.25
TARGET_PEAK_GB = 3.0
_KB_PER_GB = 1024.0 * 1024.0


def make_speech(minutes: float, path: Path) -> float:
    """Write ``minutes`` of real speech (the sample clips repeated) as 16 kHz PCM16 wav."""
    import soundfile

    from semges.speech.audio import SAMPLE_RATE, load_audio

    sources = sorted(BEAT2_SAMPLE_DIR.glob("*.wav")) + sorted(EXAMPLES.glob("*.wav"))
    pieces = [load_audio(source) for source in sources]
    speech = np.concatenate(pieces)
    total = round(minutes * 60 * SAMPLE_RATE)
    speech = np.resize(speech, total)  # repeats the clips end to end
    soundfile.write(str(path), speech, SAMPLE_RATE, subtype="PCM_16")
    return total / SAMPLE_RATE


def run_command(arguments: list[str]) -> dict[str, float]:
    """Run ``python -m semges ARGUMENTS``; wall seconds and peak memory of that process."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "semges", *arguments],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stdout, stderr = process.stdout.read(), process.stderr.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{arguments[0]} failed: {stderr.decode(errors='replace')[-2000:]}")
    return {
        "seconds": round(wall, 1),
        "peak_memory_gb": round(usage.ru_maxrss / _KB_PER_GB, 2),  # ru_maxrss is in KiB
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "load_average_before": round(load, 2),
        "output": stdout.decode(errors="replace").strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 30, 60])
    parser.add_argument("--out", type=Path, default=HERE / "long_speech")
    args = parser.parse_args()

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="semges-long-") as folder:
        for minutes in args.minutes:
            speech = Path(folder) / f"speech_{minutes:g}min.wav"
            seconds = make_speech(minutes, speech)
            entry: dict = {"speech_seconds": seconds}
            if minutes == RATIO_MINUTES:
                entry["transcribe"] = run_command(
                    ["transcribe", str(speech), "-o", str(Path(folder) / "words.json")]
                )
            entry["generate"] = run_command(
                ["generate", str(speech), "-o", str(Path(folder) / f"motion_{minutes:g}.npz")]
            )
            if "transcribe" in entry:
                entry["generate_over_transcribe"] = round(
                    entry["generate"]["seconds"] / entry["transcribe"]["seconds"], 2
                )
            results[f"{minutes:g}"] = entry
            print(f"{minutes:g} min: {json.dumps(entry)}", flush=True)
            speech.unlink()

    report = {
        "what": "python -m semges transcribe / generate on long real speech (BEAT2 sample "
        "clips and assets/examples repeated), one process per command, CPU",
        "target_ratio": TARGET_RATIO,
        "target_peak_memory_gb": TARGET_PEAK_GB,
        "results": results,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "processor": platform.processor(),
            "memory_gb": round(
                os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1
            ),
        },
    }
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


def markdown(report: dict) -> str:
    machine = report["machine"]
    lines = [
        "# Long speech on the command line: time and peak memory",
        "",
        "Produced by `benchmarks/long_speech.py` on "
        f"{machine['platform']}, {machine['cpus']} CPUs ({machine['processor'] or 'unknown'}), "
        f"{machine['memory_gb']} GB RAM, no GPU; the machine is shared (load average before "
        "each command in the table). Each command runs in its own process; peak memory is "
        "its maximum resident set (model loading included).",
        "",
        "| speech | command | wall time (s) | CPU time (s) | x real time | peak memory (GB) "
        "| load before |",
        "|---|---|---|---|---|---|---|",
    ]
    for minutes, entry in report["results"].items():
        for command in ("transcribe", "generate"):
            if command in entry:
                run = entry[command]
                lines.append(
                    f"| {minutes} min | {command} | {run['seconds']:.1f} | {run['cpu_seconds']:.1f}"
                    f" | {entry['speech_seconds'] / run['seconds']:.1f} "
                    f"| {run['peak_memory_gb']:.2f} | {run['load_average_before']} |"
                )
    lines.append("")
    for minutes, entry in report["results"].items():
        if "generate_over_transcribe" in entry:
            lines.append(
                f"- **generate / transcribe on the same {minutes}-minute file: "
                f"{entry['generate_over_transcribe']:.2f}x** (target <= {report['target_ratio']}x)"
            )
    peak = max(entry["generate"]["peak_memory_gb"] for entry in report["results"].values())
    lines.append(
        f"- largest peak memory: {peak:.2f} GB (target <= {report['target_peak_memory_gb']:g} GB)"
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
