"""The page in a real headless browser: Playwright driving Debian's chromium.

Upload a wav, click Generate, wait until the video element can play, take a screenshot. The
demo runs in this process (a thread) around a tiny random pipeline, with the real front-end
and renderer.
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile

from test_app import app_settings, tiny_service_pipeline, write_speech_clip
from webapp.settings import EXAMPLES_FOLDER

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: install the "
                       "Debian packages in packages.txt (make test does)"),
]
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
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


def generate_in_browser(url: str, wav: Path, screenshot: Path, size: str | None = None,
                        seek_s: float | None = None) -> dict:
    """Open the page, upload ``wav``, Generate, wait for a playable video, save a screenshot.

    ``size``: a label of the page's size menu; ``seek_s``: the video time shown in the
    screenshot (None: the middle).

    Returns what the page shows: the video's duration and readyState, the transcript and the
    status line.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url, wait_until="networkidle")
            page.locator("#speech-input input[type=file]").set_input_files(str(wav))
            if size is not None:
                page.get_by_text("Video", exact=True).click()
                page.get_by_label("Size").click()
                page.get_by_role("option", name=size).click()
            page.locator("#generate-button").click()
            page.wait_for_function(VIDEO_CAN_PLAY, timeout=GENERATE_TIMEOUT_MS)
            page.evaluate(SEEK, seek_s)  # a frame mid-speech says more than the first one
            page.wait_for_timeout(500)  # let the player draw it
            page.wait_for_function(STATUS_DONE, timeout=10_000)
            shown = page.evaluate(SHOWN)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
            return shown
        finally:
            browser.close()


@pytest.fixture(scope="module")
def served(speech_frontend, tmp_path_factory):
    """(URL, Blocks, service) of the demo, served from this process; keeps request folders 1 min."""
    from render.gl_platform import configure_headless_gl

    configure_headless_gl()
    from webapp.rendering import Renderers
    from webapp.service import GestureService
    from webapp.startup import create_demo, launch_options

    settings = app_settings(tmp_path_factory.mktemp("browser-app"), keep_minutes=1,
                            max_audio_seconds=20)  # the examples are 10-16 s
    service = GestureService(tiny_service_pipeline(speech_frontend), Renderers.load(), settings)
    demo = create_demo(settings, service)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                quiet=True, **launch_options(settings))  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}/", demo, service
    finally:
        demo.close()
        service.renderers.close()


@pytest.fixture(scope="module")
def page_url(served) -> str:
    return served[0]


def test_upload_generate_and_watch(page_url, tmp_path):
    wav = write_speech_clip(tmp_path / "speech.wav")
    screenshot = tmp_path / "screenshot.png"
    shown = generate_in_browser(page_url, wav, screenshot, size="320 × 240 (fastest)")
    assert shown["readyState"] >= 3
    assert shown["duration"] == pytest.approx(3.3, abs=0.15)
    assert "opinion" in shown["transcript"].lower()
    assert screenshot.stat().st_size > 10_000
    assert "Done" in shown["status"]


def test_examples_still_work_after_every_clean_up(served, tmp_path):
    """Gradio's cache clean-up, the request-folder clean-up and a system temp cleaner all run
    (keep time zero), then a visitor clicks an example and gets a video."""
    from gradio.route_utils import delete_files_created_by_app
    from playwright.sync_api import sync_playwright

    url, demo, service = served
    example = EXAMPLES_FOLDER / "scott_hobbies.wav"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
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
            browser.close()
    assert shown["duration"] == pytest.approx(soundfile.info(example).duration, abs=0.15)
    assert shown["transcript"].strip() and "not found" not in shown["status"]


def test_the_page_shows_no_operator_advice_and_no_body_choice(page_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_url, wait_until="networkidle")
            page.get_by_text("Video", exact=True).click()
            page.get_by_text("Upper body").wait_for()
            text = page.inner_text("body")
        finally:
            browser.close()
    assert "SEMGES_SMPLX_MODEL" not in text and "Mannequin" not in text
    assert "two cores" not in text and "runs on a CPU" in text


def test_an_error_stays_on_the_page(page_url, tmp_path):
    from playwright.sync_api import sync_playwright

    silence = tmp_path / "silence.wav"
    soundfile.write(silence, np.zeros(3 * 16_000, np.float32), 16_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_url, wait_until="networkidle")
            page.locator("#speech-input input[type=file]").set_input_files(str(silence))
            page.locator("#generate-button").click()
            page.wait_for_function(
                "() => document.querySelector('#status').innerText.includes('silent')",
                timeout=GENERATE_TIMEOUT_MS)  # fmt: skip
            page.wait_for_timeout(12_000)  # longer than a toast stays
            status = page.inner_text("#status")
        finally:
            browser.close()
    assert "no speech was found" in status
