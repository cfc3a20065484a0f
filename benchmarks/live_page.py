"""The Live page for a whole talk: latency, frame rate and memory, page and server, over time.

    .venv/bin/python -m benchmarks.live_page [--minutes 10] [--speech WAV] [--screenshots DIR]

The demo runs as ``app.py`` does, in a process of its own (``python app.py``, the shipped
checkpoint: its resident memory is read from ``/proc``), and Debian's chromium (headless, WebGL
on the CPU through SwiftShader) opens ``/live`` at 1280x800 with a fake microphone that plays
real BEAT2 speech (a 62 s clip of ``data/beat2``, looping) and presses Start. Every
``--every`` seconds the page's own numbers are read (``window.semgesLive.stats()``: the
voice-to-motion latency of the frames drawn, measured on the page's clock from when their audio
was captured, the draw rate, frames received), with the page's JavaScript heap (Chrome
DevTools ``Performance.getMetrics``) and the server's resident memory. At the end Stop is
pressed and the server must have closed the session.

Memory growth is the last minute's median minus the second minute's (the first holds start-up
allocations). Server and browser share this machine (its cores with whatever else runs: the
load average is recorded). Writes ``benchmarks/live_page.json`` and ``.md``;
``--screenshots DIR`` saves the page mid-talk (``screenshot_live.png``) and the stage view
(``screenshot_live_stage.png``). ``benchmarks/live.py`` calls :func:`run`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import soundfile

from benchmarks.headless_chromium import (
    SOFTWARE_COMPOSITING,
    fake_microphone_args,
    launch_chromium,
)
from benchmarks.run import machine_description
from semges.shipped_checkpoint import DEFAULT_CHECKPOINT_DIR
from semges.speech.audio import resample

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_SPEECH = REPO / "data" / "beat2" / "2_scott_0_2_2.wav"
VIEWPORT = {"width": 1280, "height": 800}
FAKE_MICROPHONE_RATE = 48_000
SERVER_START_S = 300.0
POLL_S = 0.5
PAGE_READY_MS = 120_000
SCREENSHOT_AFTER_S = 20.0  # the page mid-talk: the body has moved for a while
STAGE_SETTLE_MS = 1000
SECONDS_PER_MINUTE = 60
BYTES_PER_MB = 1024 * 1024
KB_PER_MB = 1024
MS_PER_S = 1000.0
SAMPLES_PER_MS = 16.0  # the page sends 16 kHz
GOALS = {"latency_p95_s": 1.0, "fps": 25.0, "server_growth_mb": 50.0, "page_growth_mb": 20.0}
STATE = "(state) => window.semgesLive !== undefined && window.semgesLive.state === state"
STATS = "() => window.semgesLive.stats()"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def resident_mb(pid: int) -> float:
    """The process's resident memory (VmRSS), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / KB_PER_MB
    raise RuntimeError(f"no VmRSS for process {pid}")


def microphone_wav(speech: Path, folder: Path) -> Path:
    """``speech`` as chromium's fake capture reads it: 16-bit PCM, at a device's rate."""
    samples, rate = soundfile.read(speech, dtype="float32", always_2d=False)
    path = folder / "microphone.wav"
    soundfile.write(
        path, resample(samples, rate, FAKE_MICROPHONE_RATE), FAKE_MICROPHONE_RATE, "PCM_16"
    )
    return path


def start_server(checkpoint: Path, output: Path, port: int, log: Path) -> subprocess.Popen:
    """``python app.py`` on ``port``; returns once the Live routes answer."""
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "SEMGES_CHECKPOINT": str(checkpoint),
        "SEMGES_APP_OUTPUT": str(output),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    server = subprocess.Popen(
        [sys.executable, str(REPO / "app.py")],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"app.py exited with {server.returncode}: see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/semges-live/status") as reply:
                if reply.status == 200:
                    return server
        except OSError:
            time.sleep(POLL_S)
    server.terminate()
    raise RuntimeError(f"app.py did not answer in {SERVER_START_S:.0f} s: see {log}")


def live_status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/semges-live/status") as reply:
        return json.load(reply)


def first_word(speech: Path) -> float | None:
    """Onset (s) of the first word in ``speech``'s BEAT2 TextGrid beside it, if there is one."""
    from training.beat2_files import read_words

    textgrid = speech.with_suffix(".TextGrid")
    words = read_words(textgrid) if textgrid.is_file() else []
    return words[0].start if words else None


def page_heap_mb(cdp) -> float:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics["JSHeapUsedSize"] / BYTES_PER_MB


def growth(samples: list[dict], key: str) -> float:
    """The last minute's median of ``key`` minus the second minute's."""
    end = samples[-1]["elapsed_s"]
    second = [
        s[key] for s in samples if SECONDS_PER_MINUTE <= s["elapsed_s"] < 2 * SECONDS_PER_MINUTE
    ]
    last = [s[key] for s in samples if s["elapsed_s"] >= end - SECONDS_PER_MINUTE]
    if not second or not last:
        return float("nan")
    return statistics.median(last) - statistics.median(second)


def run(
    minutes: float,
    speech: Path = DEFAULT_SPEECH,
    checkpoint: Path = DEFAULT_CHECKPOINT_DIR,
    every_s: float = 10.0,
    screenshots: Path | None = None,
) -> dict:
    """Talk to the Live page for ``minutes``; the report (see the module doc)."""
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="semges-live-page-"))
    port = free_port()
    server = start_server(checkpoint, work / "output", port, work / "server.log")
    url = f"http://127.0.0.1:{port}/live"
    load_before = os.getloadavg()[0]
    samples: list[dict] = []
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(
                playwright,
                [SOFTWARE_COMPOSITING, *fake_microphone_args(microphone_wav(speech, work))],
            )
            version = browser.version
            page = browser.new_page(viewport=VIEWPORT)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            opened = time.monotonic()
            page.goto(url, wait_until="networkidle")
            page.wait_for_function(STATE, arg="idle", timeout=PAGE_READY_MS)
            page_ready_s = time.monotonic() - opened
            page.locator(".live-start").click()
            page.wait_for_function(STATE, arg="live", timeout=PAGE_READY_MS)
            started = time.monotonic()
            shot_taken = screenshots is None
            while (elapsed := time.monotonic() - started) < minutes * SECONDS_PER_MINUTE:
                time.sleep(min(every_s, max(0.0, minutes * SECONDS_PER_MINUTE - elapsed)))
                stats = page.evaluate(STATS)
                if stats["error"]:
                    raise RuntimeError(f"the page stopped: {stats['error']}")
                samples.append(
                    {
                        "elapsed_s": round(time.monotonic() - started, 1),
                        "latency_p50_s": stats["latencyP50Ms"] / MS_PER_S,
                        "latency_p95_s": stats["latencyP95Ms"] / MS_PER_S,
                        "fps": round(stats["fps"], 1),
                        "frames_received": stats["framesReceived"],
                        "underruns": stats["underruns"],
                        "render_scale": stats["renderScale"],
                        "page_heap_mb": round(page_heap_mb(cdp), 1),
                        "server_rss_mb": round(resident_mb(server.pid), 1),
                        "load": round(os.getloadavg()[0], 2),
                    }
                )
                logger.info("%s", samples[-1])
                if not shot_taken and time.monotonic() - started >= SCREENSHOT_AFTER_S:
                    screenshots.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(screenshots / "screenshot_live.png"))
                    page.keyboard.press("f")
                    page.wait_for_timeout(STAGE_SETTLE_MS)
                    page.screenshot(path=str(screenshots / "screenshot_live_stage.png"))
                    page.keyboard.press("Escape")
                    shot_taken = True
            final = page.evaluate(STATS)
            page.locator(".live-stop").click()
            page.wait_for_function(STATE, arg="idle", timeout=PAGE_READY_MS)
            after_stop = live_status(port)
            browser.close()
    finally:
        server.terminate()
        server.wait()
    moved_after_word_s = None
    first_word_s = first_word(speech)
    if final["movedAt"] is not None and first_word_s is not None:
        word_captured_at = final["movedOffsetMs"] + first_word_s * MS_PER_S
        moved_after_word_s = round((final["movedAt"] - word_captured_at) / MS_PER_S, 2)
    return {
        "date": datetime.date.today().isoformat(),
        "machine": machine_description(),
        "browser": f"chromium {version}",
        "speech": str(speech.relative_to(REPO) if speech.is_relative_to(REPO) else speech),
        "minutes": minutes,
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "page_ready_s": round(page_ready_s, 2),
        "first_word_s": first_word_s,
        "body_moved_s_after_first_word": moved_after_word_s,
        "session_latency_p50_s": final["sessionLatencyP50Ms"] / MS_PER_S,
        "session_latency_p95_s": final["sessionLatencyP95Ms"] / MS_PER_S,
        "live_fps": round(final["liveFps"], 1),
        "frames_received": final["framesReceived"],
        "underruns": final["underruns"],
        "dropped_s": round(final["droppedS"], 2),
        "server_compute_s_per_audio_s": round(
            final["serverComputeMs"] / (final["samplesSent"] / SAMPLES_PER_MS), 3
        ),
        "server_growth_mb": round(growth(samples, "server_rss_mb"), 1),
        "page_growth_mb": round(growth(samples, "page_heap_mb"), 1),
        "sessions_after_stop": after_stop["active"],
        "latency_parts_s": latency_parts(final),
        "goals": GOALS,
        "samples": samples,
    }


def latency_parts(stats: dict) -> dict[str, float | None]:
    """Where the voice-to-motion time goes, over the page's last two minutes (seconds): the
    model's lookahead; a piece's newest audio waiting in the page to be sent; a piece's round
    trip (sent -> its frames back: the server's step and the link); frames arriving after their
    audio was captured; and the player's delay (the drawn latency: the arrival lateness of
    the last seconds' latest frames plus a margin)."""

    def seconds(ms: float | None) -> float | None:
        return None if ms is None else round(ms / MS_PER_S, 3)

    return {
        "lookahead": None if stats["lookaheadS"] is None else round(stats["lookaheadS"], 3),
        "piece_wait_p95": seconds(stats["pieceWaitP95Ms"]),
        "round_trip_p50": seconds(stats["roundTripP50Ms"]),
        "round_trip_p95": seconds(stats["roundTripP95Ms"]),
        "arrival_p50": seconds(stats["arrivalP50Ms"]),
        "arrival_p95": seconds(stats["arrivalP95Ms"]),
        "player_delay": seconds(stats["delayMs"]),
    }


def write_report(report: dict, path_md: Path) -> None:
    goals = report["goals"]
    rows = [
        ("voice to motion, p50 (whole session)", f"{report['session_latency_p50_s']:.2f} s", ""),
        (
            "voice to motion, p95 (whole session)",
            f"{report['session_latency_p95_s']:.2f} s",
            f"<= {goals['latency_p95_s']} s",
        ),
        ("drawn at", f"{report['live_fps']:.1f} fps", f">= {goals['fps']} fps"),
        (
            f"body first moved, after the first word (at {report['first_word_s']} s)",
            f"{report['body_moved_s_after_first_word']} s",
            "<= 1.5 s",
        ),
        ("underruns (draws waiting for a frame)", str(report["underruns"]), ""),
        (
            "speech dropped by the page (the server fell behind)",
            f"{report['dropped_s']:.1f} s",
            "0",
        ),
        (
            "generator time per second of speech",
            f"{report['server_compute_s_per_audio_s']:.2f} s",
            "< 1",
        ),
        (
            "server memory growth (last minute - second minute)",
            f"{report['server_growth_mb']:+.1f} MB",
            f"< {goals['server_growth_mb']} MB",
        ),
        (
            "page JavaScript heap growth",
            f"{report['page_growth_mb']:+.1f} MB",
            f"< {goals['page_growth_mb']} MB",
        ),
        ("sessions open after Stop", str(report["sessions_after_stop"]), "0"),
    ]
    lines = [
        "# The Live page for a whole talk",
        "",
        f"Measured {report['date']} on {report['machine']}, {report['browser']} (headless, "
        f"WebGL on the CPU), by `python -m benchmarks.live_page --minutes {report['minutes']:g}`: "
        f"`app.py` on the shipped checkpoint, the page at 1280x800 with a fake microphone "
        f"looping `{report['speech']}`. Load average {report['load_before']} before, "
        f"{report['load_after']} after (server and browser share the machine).",
        "",
        "| measure | value | goal |",
        "|---|---|---|",
        *[f"| {name} | {value} | {goal} |" for name, value, goal in rows],
        "",
        "Where the latency goes at the end (seconds, the page's last two minutes; "
        "`latency_parts` in `benchmarks/live_page.py` says what each is):",
        "",
        "| " + " | ".join(report["latency_parts_s"]) + " |",
        "|" + "---|" * len(report["latency_parts_s"]),
        "| " + " | ".join(str(value) for value in report["latency_parts_s"].values()) + " |",
        "",
        "Every sample (latency percentiles over the page's last two minutes):",
        "",
        "| s | p50 s | p95 s | fps | frames | underruns | render scale | page heap MB | "
        "server RSS MB | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {s['elapsed_s']:.0f} | {s['latency_p50_s']:.2f} | {s['latency_p95_s']:.2f} | "
            f"{s['fps']} | {s['frames_received']} | {s['underruns']} | "
            f"{s['render_scale']:.2f} | {s['page_heap_mb']} | {s['server_rss_mb']} | "
            f"{s['load']} |"
            for s in report["samples"]
        ],
        "",
    ]
    path_md.write_text("\n".join(lines))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--speech", type=Path, default=DEFAULT_SPEECH)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT_DIR)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--screenshots", type=Path, help="folder for the two screenshots")
    parser.add_argument("--out", type=Path, default=HERE / "live_page.json")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    report = run(args.minutes, args.speech, args.checkpoint, args.every, args.screenshots)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    write_report(report, args.out.with_suffix(".md"))
    logger.info("wrote %s and %s", args.out, args.out.with_suffix(".md"))


if __name__ == "__main__":
    main()
