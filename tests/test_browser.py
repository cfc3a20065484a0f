"""The page in a real headless browser: Playwright driving Debian's chromium.

Upload a wav, click Generate, watch the live 3D view play the motion with the speech, wait
until the video element can play, take a screenshot. The demo runs in this process (a thread)
around a tiny random pipeline, with the real front-end and renderer. WebGL runs on the CPU
(SwiftShader through ANGLE, which chromium only falls back to when asked).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile
from served_demo import serve_demo
from test_app import app_settings, tiny_service_pipeline, write_speech_clip

from benchmarks.headless_chromium import launch_chromium
from semges.motion import load_motion
from tests.browser_marks import BROWSER_TESTS
from webapp.settings import EXAMPLES_FOLDER

pytestmark = BROWSER_TESTS
GENERATE_TIMEOUT_MS = 120_000
VIDEO_CAN_PLAY = """() => {
    const video = document.querySelector('#result-video video');
    return video !== null && video.readyState >= 3 && video.duration > 0;
}"""

SEEK = """(seconds) => new Promise((resolve) => {
    const video = document.querySelector('#result-video video');
    video.addEventListener('seeked', () => resolve(video.currentTime), {once: true});
    video.currentTime = seconds === null ? video.duration / 2 : seconds;
})"""

SHOWN = """() => {
    const video = document.querySelector('#result-video video');
    return {duration: video.duration, readyState: video.readyState,
            transcript: document.querySelector('#transcript-used textarea').value,
            status: document.querySelector('#status').innerText};
}"""
STATUS_DONE = "() => document.querySelector('#status').innerText.includes('Done')"
STATUS_WORKING = "() => document.querySelector('#status').innerText.includes('Working')"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
IN_VIEW = """(selector) => {
    const box = document.querySelector(selector).getBoundingClientRect();
    return box.height > 0 && box.top >= -1 && box.bottom <= window.innerHeight + 1
        && box.left >= -1 && box.right <= window.innerWidth + 1;
}"""
SCROLL_Y = "() => window.scrollY"
TOAST = "[data-testid=toast-body]"
NO_TOAST = f"() => document.querySelectorAll('{TOAST}').length === 0"


def laptop_and_phone(browser, url: str, wav: Path, folder: Path) -> dict:
    """The page at 1280x800 before and after a generation, and on a 390x844 phone after one.

    Writes ``screenshot_laptop.png``, ``screenshot.png`` (laptop, with a result) and
    ``screenshot_phone.png`` (what the phone shows once the result is ready) into ``folder``.
    Returns what was in view when, and whether the page scrolled between Generate and the
    result.
    """
    seen: dict = {}
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
            page = browser.new_page(viewport=viewport)
            page.goto(url, wait_until="networkidle")
            targets = ("#generate-button", "#examples", "#result-video")
            for target in targets:  # the page builds itself after the network goes idle
                page.locator(target).wait_for(state="visible")
            seen[name] = {target: page.evaluate(IN_VIEW, target) for target in targets}
            seen[name]["example labels"] = all(
                page.get_by_text(label, exact=True).is_visible()
                for label in ("scott dream job", "scott hobbies", "scott missing home")
            )
            if name == "laptop":
                page.screenshot(path=str(folder / "screenshot_laptop.png"))
            page.locator("#speech-input input[type=file]").set_input_files(str(wav))
            page.locator("#generate-button").click()
            scroll_y = page.evaluate(SCROLL_Y)
            seen[name]["video before"] = page.evaluate(IN_VIEW, "#result-video")
            page.wait_for_function(VIDEO_CAN_PLAY, timeout=GENERATE_TIMEOUT_MS)
            page.wait_for_function(STATUS_DONE, timeout=10_000)
            page.evaluate(SEEK, None)  # a frame mid-speech says more than the first one
            page.wait_for_timeout(1_000)  # the scroll and the player's frame
            seen[name]["video after"] = page.evaluate(IN_VIEW, "#result-video")
            seen[name]["scrolled"] = page.evaluate(SCROLL_Y) != scroll_y
            shot = "screenshot.png" if name == "laptop" else "screenshot_phone.png"
            page.screenshot(path=str(folder / shot))
            page.close()
    finally:
        for context in browser.contexts:  # a page left open by a failure
            context.close()
    return seen


@pytest.fixture(scope="module")
def served(speech_frontend, tmp_path_factory):
    """(URL, Blocks, service) of the demo, served from this process; keeps request folders 1 min."""
    from semges.render.gl_platform import configure_headless_gl

    configure_headless_gl()
    from webapp.rendering import Renderers
    from webapp.service import GestureService

    settings = app_settings(
        tmp_path_factory.mktemp("browser-app"), keep_minutes=1, max_audio_seconds=20
    )  # the examples are 10-16 s
    service = GestureService(tiny_service_pipeline(speech_frontend), Renderers.load(), settings)
    with serve_demo(settings, service) as (url, demo):
        yield url, demo, service


@pytest.fixture(scope="module")
def page_url(served) -> str:
    return served[0]


@pytest.fixture(scope="module")
def browser():
    """One headless chromium for this file's tests; each test opens its own page (a page from
    ``browser.new_page`` has a context of its own: no cookies, storage or cache shared) and
    closes it. Launching chromium and Playwright's driver once, not per test, saves seconds."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def test_examples_still_work_after_every_clean_up(browser, served, tmp_path):
    """Gradio's cache clean-up, the request-folder clean-up and a system temp cleaner all run
    (keep time zero), then a visitor clicks an example and gets a video."""
    from gradio.route_utils import delete_files_created_by_app

    url, demo, service = served
    example = EXAMPLES_FOLDER / "scott_hobbies.wav"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(url, wait_until="networkidle")
        delete_files_created_by_app(demo, age=None)  # Gradio's delete_cache, all of it
        service.workspace.keep_seconds = 0.0
        service.workspace.remove_old()
        for copy in Path(demo.GRADIO_CACHE).rglob(example.name):  # a temp cleaner
            copy.unlink()
        page.get_by_text("scott hobbies", exact=True).click()
        page.wait_for_function(VIDEO_CAN_PLAY, timeout=GENERATE_TIMEOUT_MS)
        page.wait_for_function(STATUS_DONE, timeout=10_000)
        shown = page.evaluate(SHOWN)
        page.screenshot(path=str(tmp_path / "example.png"), full_page=True)
    finally:
        page.close()
    assert shown["duration"] == pytest.approx(soundfile.info(example).duration, abs=0.15)
    assert shown["transcript"].strip() and "not found" not in shown["status"]


def test_the_page_shows_no_operator_advice_and_no_body_choice(browser, page_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(page_url, wait_until="networkidle")
        page.get_by_text("Video", exact=True).click()
        page.get_by_text("Upper body").wait_for()
        text = page.inner_text("body")
    finally:
        page.close()
    assert "SEMGES_SMPLX_MODEL" not in text and "Mannequin" not in text
    assert "two cores" not in text and "runs on a CPU" in text


def test_an_error_stays_on_the_page(browser, page_url, tmp_path):
    silence = tmp_path / "silence.wav"
    soundfile.write(silence, np.zeros(3 * 16_000, np.float32), 16_000)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(page_url, wait_until="networkidle")
        page.locator("#speech-input input[type=file]").set_input_files(str(silence))
        page.locator("#generate-button").click()
        page.wait_for_function(
            "() => document.querySelector('#status').innerText.includes('silent')",
            timeout=GENERATE_TIMEOUT_MS,
        )
        # the error's toast shows, then goes (Gradio: after 10 s); the status line stays
        page.locator(TOAST).first.wait_for(state="visible", timeout=10_000)
        page.wait_for_function(NO_TOAST, timeout=20_000)
        status = page.inner_text("#status")
    finally:
        page.close()
    assert "no speech was found" in status


def test_a_laptop_shows_generate_and_the_examples_and_a_phone_scrolls_to_the_result(
    browser, page_url, tmp_path
):
    wav = write_speech_clip(tmp_path / "speech.wav")
    seen = laptop_and_phone(browser, page_url, wav, tmp_path / "shots")
    laptop, phone = seen["laptop"], seen["phone"]
    # 1280x800, nothing scrolled: Generate, the examples and the video all show; the result
    # moves nothing
    assert laptop["#generate-button"] and laptop["#examples"] and laptop["example labels"]
    assert laptop["#result-video"] and laptop["video after"] and not laptop["scrolled"]
    # a phone stacks the columns: the video starts below the fold and comes into view
    assert not phone["video before"] and phone["video after"] and phone["scrolled"]
    for shot in ("screenshot_laptop.png", "screenshot.png", "screenshot_phone.png"):
        assert (tmp_path / "shots" / shot).stat().st_size > 10_000


SEED_USED = "() => document.querySelector('#seed-used :is(input, textarea)').value"
SEED_BOX = "() => document.querySelector('#seed-input :is(input, textarea)').value"


def motion_poses(service, seed: str) -> np.ndarray:
    """The poses of the newest motion file the demo wrote for ``seed`` (the page's upload)."""
    found = service.settings.output_root.glob(f"*/speech_scott_seed{seed}.npz")
    return load_motion(max(found, key=lambda path: path.stat().st_mtime)).poses


def test_the_page_shows_the_seed_used_and_keeps_it_on_request(browser, served, tmp_path):
    """Empty seed box: a fresh seed, shown beside the result and in the download names.
    "Use this seed again" puts it in the seed box (its accordion opens), and the next
    Generate makes the same motion with it."""
    url, _, service = served
    wav = write_speech_clip(tmp_path / "speech.wav")
    page = browser.new_page(viewport=LAPTOP)
    try:
        page.goto(url, wait_until="networkidle")
        page.locator("#speech-input input[type=file]").set_input_files(str(wav))
        reuse = page.locator("#reuse-seed")
        style = page.get_by_text("Gesture style", exact=True)
        style.click()  # open, look, close: it is folded by default
        page.locator("#seed-input :is(input, textarea)").wait_for(state="visible")
        before = {
            "box": page.evaluate(SEED_BOX),
            "used": page.evaluate(SEED_USED),
            "reuse enabled": reuse.is_enabled(),
        }
        style.click()
        page.locator("#seed-input :is(input, textarea)").wait_for(state="hidden")
        page.locator("#generate-button").click()
        page.wait_for_function(STATUS_DONE, timeout=GENERATE_TIMEOUT_MS)
        first = page.evaluate(SEED_USED)
        first_glb = page.inner_text("#glb-file")
        poses = [motion_poses(service, first)]  # read now: other tests clean folders at once
        reuse.click()
        page.locator("#seed-input :is(input, textarea)").wait_for(state="visible")
        kept = page.evaluate(SEED_BOX)
        page.locator("#generate-button").click()
        page.wait_for_function(STATUS_WORKING, timeout=10_000)
        page.wait_for_function(STATUS_DONE, timeout=GENERATE_TIMEOUT_MS)
        second = page.evaluate(SEED_USED)
        poses.append(motion_poses(service, second))
        page.screenshot(path=str(tmp_path / "seed.png"), full_page=True)
        page.locator("#seed-input :is(input, textarea)").fill("-1")
        page.locator("#generate-button").click()
        page.wait_for_function(
            "() => document.querySelector('#status').innerText.includes('seed')",
            timeout=GENERATE_TIMEOUT_MS,
        )
        refused = page.inner_text("#status")
    finally:
        page.close()
    assert before == {"box": "", "used": "", "reuse enabled": False}
    assert first.isdigit() and re.search(rf"_seed{first}\b", first_glb)  # the download's name
    assert first != "0"  # opening the accordion left the box empty: a fresh seed, not 0
    assert kept == first and second == first
    np.testing.assert_array_equal(*poses)  # the same motion
    assert "seed must be zero or a positive whole number, got '-1'" in refused


# -- the live 3D view --------------------------------------------------------------------------

VIEW = "window.semgesMotionViewer"
BODY_AT_REST = f"() => {VIEW} !== undefined && {VIEW}.viewer.loaded"
BODY_MOVES = f"() => {VIEW} !== undefined && {VIEW}.firstMoveAt !== null"
WATCH_VIDEO = """() => {
    window.videoPlayableAt = null;
    document.addEventListener('canplay', (event) => {
        if (event.target.closest('#result-video') && window.videoPlayableAt === null) {
            window.videoPlayableAt = performance.now();
        }
    }, true);
}"""
# the body's time, read in the frame after the view followed the speech (a seek just before
# is not seen until then: on a busy CPU a frame can take longer than the wait below)
VIEW_TIME = f"""() => new Promise((resolve) => requestAnimationFrame(
    () => requestAnimationFrame(() => resolve({VIEW}.viewer.currentTime))))"""
SEEK_SPEECH = f"""(seconds) => new Promise((resolve) => {{
    const audio = {VIEW}.audio;
    audio.pause();
    audio.addEventListener('seeked', () => resolve(audio.currentTime), {{once: true}});
    audio.currentTime = seconds;
}})"""
# the body's time against the speech's, read in the frame after the view followed it
LAG_IN_NEXT_FRAME = f"""() => new Promise((resolve) => requestAnimationFrame(
    () => requestAnimationFrame(() => resolve({VIEW}.lag()))))"""
SYNC_TOLERANCE_S = 0.1


def test_upload_generate_and_the_body_gestures_in_3d_before_the_video(browser, served, tmp_path):
    """Upload a wav, choose the smallest video and Generate. The page shows the body at rest,
    then plays the .glb as soon as the motion exists, before the mp4 is ready, driven by the
    speech: it starts with it, moves while it plays, and is within 0.1 s of it after a seek.
    Then the video plays, with the transcript used and the status. Everything the page loads
    comes from the demo's own server (no CDN). How soon it moves is measured by
    benchmarks/browser_latency.py."""
    url = served[0]
    wav = write_speech_clip(tmp_path / "speech.wav")
    page = browser.new_page(viewport=LAPTOP)
    try:
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(url, wait_until="networkidle")
        page.wait_for_function(BODY_AT_REST, timeout=GENERATE_TIMEOUT_MS)  # before any motion
        page.evaluate(WATCH_VIDEO)
        page.locator("#speech-input input[type=file]").set_input_files(str(wav))
        page.get_by_text("Video", exact=True).click()
        page.get_by_label("Size").click()
        page.get_by_role("option", name="320 × 240 (fastest)").click()
        page.locator("#generate-button").click()
        # the body moved on its own: the speech started playing after the click
        page.wait_for_function(BODY_MOVES, timeout=GENERATE_TIMEOUT_MS)
        page.evaluate(SEEK_SPEECH, 0.3)
        page.evaluate(f"() => {VIEW}.audio.play()")  # the page's own play button's call
        before = page.evaluate(VIEW_TIME)
        page.wait_for_timeout(500)
        playing = page.evaluate(f"() => !{VIEW}.audio.paused")
        advanced = page.evaluate(VIEW_TIME) - before
        shown_lag = page.evaluate(LAG_IN_NEXT_FRAME)
        seek_to = page.evaluate(SEEK_SPEECH, 1.7)
        lag_after_seek = page.evaluate(LAG_IN_NEXT_FRAME)
        page.screenshot(path=str(tmp_path / "3d.png"))
        page.wait_for_function(VIDEO_CAN_PLAY, timeout=GENERATE_TIMEOUT_MS)
        order = page.evaluate(f"() => [{VIEW}.shownAt, window.videoPlayableAt]")
        glb_name = page.inner_text("#glb-file")
        page.wait_for_function(STATUS_DONE, timeout=10_000)
        shown = page.evaluate(SHOWN)
        page.screenshot(path=str(tmp_path / "result.png"), full_page=True)
    finally:
        page.close()
    assert shown["readyState"] >= 3 and shown["duration"] == pytest.approx(3.3, abs=0.15)
    assert "opinion" in shown["transcript"].lower() and "Done" in shown["status"]
    assert (tmp_path / "result.png").stat().st_size > 10_000
    assert playing and advanced > 0  # the body moves with the speech
    assert abs(shown_lag) < SYNC_TOLERANCE_S
    assert seek_to == pytest.approx(1.7, abs=0.05) and abs(lag_after_seek) < SYNC_TOLERANCE_S
    motion_shown_at, video_playable_at = order  # the motion came first, the video after
    assert video_playable_at is not None and motion_shown_at < video_playable_at
    assert ".glb" in glb_name  # the download is offered too
    foreign = [address for address in requested if not address.startswith((url, "data:", "blob:"))]
    assert not foreign, foreign
    assert (tmp_path / "3d.png").stat().st_size > 10_000
