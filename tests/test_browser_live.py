"""The Live page in a real headless browser: chromium's fake microphone plays real speech.

Chromium (Playwright, WebGL on the CPU) opens ``/live`` with a microphone that plays a BEAT2
excerpt (16-bit PCM, as chromium's fake capture reads it; it loops), and a visitor presses
Start. The demo runs in this process around the tiny test pipeline for Generate, and the
Live page streams with the real ``semges.live`` generator of the shipped checkpoint. What the
page measures on its own clock is what is checked: the body moves within 1.5 s of the first
word, is drawn smoothly and follows the voice closely (the bounds below say why they are
looser than the issue's goals on this machine);
a second visitor is told the stage is busy; Stop ends the session on the server too; the
stage view fills the window. Ten minutes on end: ``benchmarks/live_page.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile
from served_demo import serve_demo
from test_app import app_settings, tiny_service_pipeline
from test_webapp_live import SPEECH, live_pipeline  # noqa: F401 (a fixture)

from benchmarks.headless_chromium import (
    SOFTWARE_COMPOSITING,
    fake_microphone_args,
    launch_chromium,
)
from semges import layout
from semges.shipped_checkpoint import SHIPPED_CHECKPOINT
from semges.speech.audio import SAMPLE_RATE, resample
from tests.browser_marks import BROWSER_TESTS
from webapp.live_page import LIVE_BODY_FACES
from webapp.live_stage import LiveStage, generator_streams

pytestmark = BROWSER_TESTS
FAKE_MICROPHONE_RATE = 48_000  # what audio devices run at; the page resamples to 16 kHz
LIVE_S = 8.0  # past the excerpt's end (6.45 s): the microphone loops it
FIRST_WORD_S = json.loads(SPEECH.with_suffix(".words.json").read_text())[0]["start"]
MOVES_WITHIN_S = 1.5
# Issue 20's goals, 25 fps and 1.0 s (p95), are measured over a whole talk by
# benchmarks/live_page.py (10 minutes: 29.3 fps, 1.00 s, with chromium drawing WebGL on the
# CPU beside the server on 2 cores). Over this test's 8 s one server hiccup (a step taking
# 0.4 s, every 30 s or so on a shared machine) can set the 95th percentile: four runs of this
# test alone gave 26.6-29.5 fps and 0.84, 0.86, 0.85 and 1.31 s. The bounds leave that room,
# and still catch a page that stalls or a server that falls behind the voice (its delay
# grows without bound).
MIN_FPS = 22.0
DRAWN_TRIANGLES = "() => window.semgesLive.body.renderer.info.render.triangles"
MOUTH_FACES_AT_MOST = 100  # the mannequin's mouth (24 triangles), drawn beside the body
MAX_P95_LATENCY_S = 1.4
LAPTOP = {"width": 1280, "height": 800}
PAGE_READY_MS = 60_000
STATE = "(state) => window.semgesLive !== undefined && window.semgesLive.state === state"
STATS = "() => window.semgesLive.stats()"
MESSAGE = "() => document.querySelector('.live-message').innerText"
BODY_BOX = """() => {
    const box = document.querySelector('.live-body').getBoundingClientRect();
    const controls = document.querySelector('.live-controls').getBoundingClientRect();
    return {width: box.width, height: box.height, top: box.top, left: box.left,
            controls: controls.height};
}"""
MS_PER_S = 1000.0


def fake_microphone_wav(path: Path) -> Path:
    samples, rate = soundfile.read(SPEECH, dtype="float32")
    soundfile.write(
        path, resample(samples, rate, FAKE_MICROPHONE_RATE), FAKE_MICROPHONE_RATE, "PCM_16"
    )
    return path


@pytest.fixture(scope="module")
def live_served(speech_frontend, live_pipeline, tmp_path_factory):  # noqa: F811
    """(URL, stage) of the demo served from this process, the Live page on the shipped
    checkpoint's live models."""
    from semges.render.gl_platform import configure_headless_gl

    configure_headless_gl()
    from webapp.rendering import Renderers
    from webapp.service import GestureService

    settings = app_settings(tmp_path_factory.mktemp("live-app"))
    service = GestureService(tiny_service_pipeline(speech_frontend), Renderers.load(), settings)
    stage = LiveStage(generator_streams(SHIPPED_CHECKPOINT, live_pipeline), capacity=1)
    with serve_demo(settings, service, stage) as (url, _):
        yield url, stage


def test_the_body_gestures_with_the_voice_and_a_second_speaker_waits(live_served, tmp_path):
    from playwright.sync_api import sync_playwright

    url, stage = live_served
    wav = fake_microphone_wav(tmp_path / "microphone.wav")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, [SOFTWARE_COMPOSITING, *fake_microphone_args(wav)])
        try:
            page = browser.new_page(viewport=LAPTOP)
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(f"{url}live", wait_until="networkidle")
            page.wait_for_function(STATE, arg="idle", timeout=PAGE_READY_MS)
            page.locator(".live-start").click()
            page.wait_for_function(STATE, arg="live", timeout=PAGE_READY_MS)
            page.wait_for_timeout(LIVE_S * MS_PER_S)
            live = page.evaluate(STATS)
            drawn_triangles = page.evaluate(DRAWN_TRIANGLES)
            page.screenshot(path=str(tmp_path / "live.png"))

            other = browser.new_page(viewport=LAPTOP)
            other.goto(f"{url}live", wait_until="networkidle")
            other.wait_for_function(STATE, arg="idle", timeout=PAGE_READY_MS)
            other.locator(".live-start").click()
            other.wait_for_function(STATE, arg="idle", timeout=PAGE_READY_MS)
            refused = other.evaluate(MESSAGE)
            other.close()

            page.keyboard.press("f")
            on_stage = page.evaluate(BODY_BOX)
            page.screenshot(path=str(tmp_path / "stage.png"))
            page.keyboard.press("Escape")
            off_stage = page.evaluate(BODY_BOX)

            page.locator(".live-stop").click()
            page.wait_for_function(STATE, arg="idle", timeout=PAGE_READY_MS)
            stopped = page.evaluate(STATS)
            said = page.evaluate(MESSAGE)
        finally:
            browser.close()

    word_captured_at = live["movedOffsetMs"] + FIRST_WORD_S * MS_PER_S
    assert live["error"] is None and live["movedAt"] is not None, live
    assert (live["movedAt"] - word_captured_at) / MS_PER_S <= MOVES_WITHIN_S, live
    assert live["liveFps"] >= MIN_FPS, live
    assert live["latencyCount"] > LIVE_S * 0.5 * 30, json.dumps(live)  # most frames were drawn
    assert live["latencyP95Ms"] / MS_PER_S <= MAX_P95_LATENCY_S, live
    assert live["latencyP50Ms"] >= live["lookaheadS"] * MS_PER_S  # it cannot beat the model

    assert 0 < drawn_triangles <= LIVE_BODY_FACES + MOUTH_FACES_AT_MOST  # the lighter body

    assert "stage is busy" in refused and "someone else is speaking live" in refused

    assert on_stage["width"] == LAPTOP["width"] and on_stage["height"] == LAPTOP["height"]
    assert on_stage["top"] == 0 and on_stage["left"] == 0 and on_stage["controls"] == 0
    assert off_stage["width"] < LAPTOP["width"] and off_stage["controls"] > 0

    assert stopped["state"] == "idle" and stopped["error"] is None and said.startswith("Stopped.")
    assert stage.active() == 0  # the session is closed on the server
    # every frame of the speech sent came back: the flush at Stop brought the last ones
    sent = layout.num_motion_frames(stopped["samplesSent"], SAMPLE_RATE)
    assert stopped["framesReceived"] == sent, stopped
    foreign = [address for address in requested if not address.startswith((url, "data:", "blob:"))]
    assert not foreign, foreign
