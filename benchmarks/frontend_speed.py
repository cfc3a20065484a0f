"""Speed of the speech front-end on CPU: 60 s of real speech through ``SpeechFrontend.extract``.

Measures model loading once, then full extraction (decode + transcription + audio features
+ word features) several times, with per-stage times from the progress callback and the
feature stage split into its parts; the median run gives the real-time factor. Also times
extraction with a given transcript (forced alignment instead of recognition). The machine
may be shared: the load average before each run is recorded.

    .venv/bin/python -m benchmarks.frontend_speed [--speech data/beat2/2_scott_0_1_1.wav]

writes benchmarks/frontend_speed.json and .md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

from training.sample_data import BEAT2_SAMPLE_DIR

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
SECONDS = 60.0
TARGET_REALTIME_FACTOR = 10.0


def timed_extract(frontend, audio, text=None) -> dict[str, float]:
    """Seconds per stage of one ``extract`` call (stage start -> next stage start)."""
    marks: list[tuple[str, float]] = []
    started, cpu_started = time.perf_counter(), time.process_time()
    frontend.extract(
        audio,
        text,
        progress=lambda stage, fraction: (
            marks.append((stage, time.perf_counter())) if fraction == 0.0 else None
        ),
    )
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started  # all threads: independent of other processes
    ends = [t for _, t in marks[1:]] + [started + total]
    stages = {stage: round(end - begin, 3) for (stage, begin), end in zip(marks, ends)}
    return {**stages, "total": round(total, 3), "process_cpu_s": round(cpu, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speech", type=Path, default=BEAT2_SAMPLE_DIR / "2_scott_0_1_1.wav")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "frontend_speed")
    args = parser.parse_args()

    from semges.speech.audio import SAMPLE_RATE, load_audio
    from semges.speech.audio_features import prosody_features, whisper_encoder_states
    from semges.speech.frontend import SpeechFrontend
    from semges.speech.transcription import default_whisper_threads

    started = time.perf_counter()
    frontend = SpeechFrontend()
    load_s = time.perf_counter() - started
    samples = load_audio(args.speech)[: round(SECONDS * SAMPLE_RATE)]
    clip = (samples, SAMPLE_RATE)
    frames = round(SECONDS * 30)

    runs, loads = [], []
    for _ in range(args.repeats):
        loads.append(os.getloadavg()[0])
        runs.append(timed_extract(frontend, clip))
    median_run = sorted(runs, key=lambda r: r["total"])[len(runs) // 2]

    def best_of(function, repeats: int = 3) -> float:
        times = []
        for _ in range(repeats):
            begin = time.perf_counter()
            function()
            times.append(time.perf_counter() - begin)
        return round(min(times), 3)

    words = frontend.transcribe(clip)
    parts = {
        "whisper_encoder_states": best_of(
            lambda: whisper_encoder_states(frontend.whisper, samples, frames)
        ),
        "prosody": best_of(lambda: prosody_features(samples, frames)),
        "word_embeddings": best_of(lambda: frontend.word_encoder.embed(words)),
    }
    text = " ".join(w.word for w in words)
    aligned = [timed_extract(frontend, clip, text) for _ in range(args.repeats)]
    aligned_median = sorted(aligned, key=lambda r: r["total"])[len(aligned) // 2]

    report = {
        "what": "SpeechFrontend.extract on 60 s of BEAT2 speech (2_scott_0_1_1), CPU",
        "speech_seconds": SECONDS,
        "cpu_threads": default_whisper_threads(),
        "frontend_config": dataclasses.asdict(frontend.config),
        "model_load_and_warmup_s": round(load_s, 2),
        "extract_runs_s": runs,
        "extract_median_s": median_run,
        "realtime_factor": round(SECONDS / median_run["total"], 1),
        "target_realtime_factor": TARGET_REALTIME_FACTOR,
        "feature_parts_best_of_3_s": parts,
        "extract_with_text_median_s": aligned_median,
        "realtime_factor_with_text": round(SECONDS / aligned_median["total"], 1),
        "load_average_before_runs": [round(x, 2) for x in loads],
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "processor": platform.processor(),
        },
    }
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


def markdown(report: dict) -> str:
    run, text_run = report["extract_median_s"], report["extract_with_text_median_s"]
    stages = [s for s in run if s not in ("total", "process_cpu_s")]
    lines = [
        "# Speech front-end: speed on CPU",
        "",
        f"Produced by `benchmarks/frontend_speed.py`: `SpeechFrontend.extract` on "
        f"{report['speech_seconds']:.0f} s of real speech, {report['cpu_threads']} CPU threads, "
        f"Whisper tiny.en int8, greedy decoding. Median of {len(report['extract_runs_s'])} runs. "
        f"Load average before the runs: {report['load_average_before_runs']} (the machine is "
        "shared; a busy machine makes every number slower).",
        "",
        f"- **{report['realtime_factor']}x faster than real time** "
        f"(target {report['target_realtime_factor']:.0f}x): {run['total']:.2f} s for 60 s",
        f"- with a given transcript (forced alignment): {report['realtime_factor_with_text']}x, "
        f"{text_run['total']:.2f} s",
        f"- CPU time of the process for the median run: {run['process_cpu_s']:.2f} s "
        f"(all threads; it depends little on other load): "
        f"{report['speech_seconds'] / run['process_cpu_s']:.1f}x real time in CPU time alone",
        f"- model loading + warm-up, once per process: {report['model_load_and_warmup_s']} s",
        "",
        "| stage | " + " | ".join(stages) + " | total |",
        "|---" * (len(stages) + 2) + "|",
        "| transcribe (s) | "
        + " | ".join(f"{run[s]:.2f}" for s in stages)
        + f" | {run['total']:.2f} |",
        "| with text (s) | "
        + " | ".join(f"{text_run.get(s, 0.0):.2f}" for s in stages)
        + f" | {text_run['total']:.2f} |",
        "",
        "Feature stage parts (best of 3, s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in report["feature_parts_best_of_3_s"].items()),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
