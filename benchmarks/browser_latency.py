"""In the browser: from clicking Generate to a moving body, against the finished mp4.

    .venv/bin/python -m benchmarks.browser_latency [--lengths 10 60] [--repeats 3]
                                                   [--screenshot PATH]

The demo is served from this process around the shipped checkpoint (``load_service``, as
``app.py`` does), and Debian's chromium (headless, WebGL on the CPU through SwiftShader)
opens the page at 1280x800, uploads real BEAT2 speech (the sample clips of ``data/beat2``, end
to end: ``benchmarks.run.build_input``) and clicks Generate.
The page is opened and ready (the body stands at rest in the 3D view) before the speech is
uploaded, as for a visitor who opens it and then records. Times are read from the page's own
clock (``performance.now()``), from the click to:

- ``motion arrives``: the .glb reaches the page (speech, motion and motion files done);
- ``body loaded``: <model-viewer> has the body and its animation;
- ``body moves``: the first frame drawn at a time past 0 (the speech is playing);
- ``mp4 playable``: the video element can play the finished mp4.

Server and browser share this machine (and its 2 cores with whatever else runs on it: the
load average is recorded), so the body moves while the video still renders beside it.
Each length runs ``--repeats`` times (a fresh page each), lengths alternating; the table gives
the median of each column, the JSON every run. Writes ``benchmarks/browser_latency.json`` and
``.md``; ``--screenshot`` saves the page with the body mid-gesture (``assets/screenshot_3d.png``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.headless_chromium import launch_chromium
from benchmarks.run import build_input, machine_description
from semges.shipped_checkpoint import DEFAULT_CHECKPOINT_DIR
from training.sample_data import BEAT2_SAMPLE_DIR

HERE = Path(__file__).resolve().parent
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 600_000
GOAL_RATIO = 0.3  # the body should move within this fraction of the time to the mp4
SCREENSHOT_AT_S = 2.6  # speech time shown in the screenshot: mid-gesture in the 10 s clip
MS_PER_S = 1000.0

WATCH = """() => {
    window.latency = {click: null, video: null};
    document.querySelector('#generate-button').addEventListener('click', () => {
        window.latency.click = performance.now();
    }, {capture: true, once: true});
    document.addEventListener('canplay', (event) => {
        if (event.target.closest('#result-video') && window.latency.video === null) {
            window.latency.video = performance.now();
        }
    }, true);
}"""
VIEW = "window.semgesMotionViewer"
BODY_AT_REST = f"() => {VIEW} !== undefined && {VIEW}.viewer.loaded"
BODY_MOVES = f"() => {VIEW} !== undefined && {VIEW}.firstMoveAt !== null"
VIDEO_PLAYABLE = "() => window.latency.video !== null"
READ = f"""() => ({{click: window.latency.click, arrives: {VIEW}.shownAt,
    loaded: {VIEW}.loadedAt, moves: {VIEW}.firstMoveAt, mp4: window.latency.video,
    duration: {VIEW}.viewer.duration}})"""
SHOW_TIME = f"""(seconds) => new Promise((resolve) => {{
    const audio = {VIEW}.audio;
    audio.pause();
    audio.addEventListener('seeked', () => requestAnimationFrame(
        () => requestAnimationFrame(resolve)), {{once: true}});
    audio.currentTime = seconds;
}})"""

logger = logging.getLogger("benchmarks.browser_latency")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 60], metavar="S")
    parser.add_argument("--repeats", type=int, default=3, help="runs per length")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT_DIR)
    parser.add_argument("--speech-dir", type=Path, default=BEAT2_SAMPLE_DIR)
    parser.add_argument("--out", type=Path, default=HERE / "browser_latency.json")
    parser.add_argument("--screenshot", type=Path, help="save the page mid-gesture (10 s clip)")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def measure(browser: object, url: str, speech: Path, screenshot: Path | None) -> dict:
    """One Generate in a fresh page; seconds from the click to each milestone."""
    page = browser.new_page(viewport=VIEWPORT)
    try:
        opened = time.perf_counter()
        page.goto(url, wait_until="networkidle")
        page.wait_for_function(BODY_AT_REST, timeout=TIMEOUT_MS)  # the page is ready
        at_rest = time.perf_counter() - opened
        page.evaluate(WATCH)
        page.locator("#speech-input input[type=file]").set_input_files(str(speech))
        page.locator("#generate-button").click()
        page.wait_for_function(BODY_MOVES, timeout=TIMEOUT_MS)
        page.wait_for_function(VIDEO_PLAYABLE, timeout=TIMEOUT_MS)
        times = page.evaluate(READ)
        if screenshot is not None:
            page.evaluate(SHOW_TIME, SCREENSHOT_AT_S)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
    finally:
        page.close()
    click = times["click"]
    seconds = {
        name: (times[name] - click) / MS_PER_S for name in ("arrives", "loaded", "moves", "mp4")
    }
    seconds["ratio"] = seconds["moves"] / seconds["mp4"]
    seconds["animation_s"] = times["duration"]
    seconds["page_ready"] = at_rest
    return seconds


def medians(runs: list[dict], length: int) -> dict:
    """The median of every measure over the runs of one speech length."""
    mine = [run for run in runs if run["speech_s"] == length]
    row = {key: statistics.median(run[key] for run in mine) for key in mine[0] if key != "speech_s"}
    return {
        "speech_s": length,
        "runs": len(mine),
        "ratios": ", ".join(f"{run['ratio']:.2f}" for run in mine),
        **row,
    }


def write_report(report: dict, path_md: Path) -> None:
    lines = [
        "# In the browser: Generate to a moving body, against the finished mp4",
        "",
        f"Measured {report['date']} on {report['machine']}, {report['browser']} "
        f"(headless, WebGL on the CPU: SwiftShader), page 1280x800, by "
        "`python -m benchmarks.browser_latency`. Server and browser on the same machine; "
        f"load average before / after: {report['load_before']} / {report['load_after']}. "
        "Seconds from the click on Generate (the page's clock), median of the runs:",
        "",
        "| speech | runs | motion arrives | body loaded | body moves | mp4 playable |"
        " moves / mp4 | page ready (before the click) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["medians"]:
        lines.append(
            f"| {row['speech_s']} s | {row['runs']} | {row['arrives']:.1f} | "
            f"{row['loaded']:.1f} | **{row['moves']:.1f}** | {row['mp4']:.1f} | "
            f"{row['ratio']:.2f} (runs: {row['ratios']}) | {row['page_ready']:.1f} |"
        )
    lines += [
        "",
        f"Goal: the body moves within {GOAL_RATIO}x the time to the mp4.",
        "",
        "Page ready: from opening the page to the body standing at rest in the 3D view "
        "(the viewer builds its renderer then, not when the first motion comes).",
        "",
    ]
    path_md.write_text("\n".join(lines))


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from semges.render.gl_platform import configure_headless_gl

    configure_headless_gl()
    from playwright.sync_api import sync_playwright

    from webapp.settings import AppSettings
    from webapp.startup import create_demo, launch_options, load_service

    speeches = {length: build_input(length, args.speech_dir) for length in args.lengths}
    output = Path(tempfile.mkdtemp(prefix="semges-latency-"))
    settings = AppSettings(checkpoint=args.checkpoint, output_root=output)
    demo = create_demo(settings, load_service(settings))
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        **launch_options(settings),
    )
    url = f"http://127.0.0.1:{port}/"
    load_before = os.getloadavg()[0]
    runs = []
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            version = browser.version
            measure(browser, url, speeches[min(speeches)], None)  # warm: first page load
            for repeat in range(args.repeats):
                for length, speech in speeches.items():
                    shot = args.screenshot if length == min(speeches) and repeat == 0 else None
                    seconds = measure(browser, url, speech, shot)
                    logger.info("%d s: %s", length, {k: round(v, 2) for k, v in seconds.items()})
                    runs.append({"speech_s": length, **seconds})
            browser.close()
    finally:
        demo.close()
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": machine_description(),
        "browser": f"chromium {version}",
        "load_before": round(load_before, 1),
        "load_after": round(os.getloadavg()[0], 1),
        "goal_ratio": GOAL_RATIO,
        "medians": [medians(runs, length) for length in speeches],
        "runs": runs,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    write_report(report, args.out.with_suffix(".md"))
    logger.info(
        "wrote %s and %s (%.0f s)", args.out, args.out.with_suffix(".md"), time.process_time()
    )


if __name__ == "__main__":
    main()
