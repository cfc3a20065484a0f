"""A visitor's VRM character in the page, in a real headless chromium (Playwright).

A file that is not a VRM gets a plain message; the test character (the mannequin as a VRM 1.0
model, tests/vrm_character.py) dropped on the 3D view plays the generated motion from the
server's .vrma: in step with the speech after a seek, its mouth (the ``aa`` expression) as the
file says at that moment. The demo serves the shipped checkpoint (its face model opens the
mouth; a random tiny one would not) in this process.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from served_demo import serve_demo
from test_app import app_settings, write_speech_clip
from test_browser import GENERATE_TIMEOUT_MS, LAPTOP
from vrm_character import write_character

from benchmarks.headless_chromium import launch_chromium
from semges import layout
from semges.kinematics import joint_positions, rest_joint_positions
from semges.motion import load_motion
from semges.vrm_humanoid import tpose_skeleton
from tests.browser_marks import BROWSER_TESTS

pytestmark = BROWSER_TESTS
REPO = Path(__file__).resolve().parents[1]
VIEW = "window.semgesMotionViewer"
CHARACTER = "window.semgesVrmCharacter"
CHARACTER_FILE = ".motion-view-character-file"
# the character plays, and the mannequin's view took the speech (it restarts it on loading)
CHARACTER_PLAYS = f"() => {CHARACTER} !== undefined && {CHARACTER}.ready && {VIEW}.ready"
REFUSED = f"() => {CHARACTER} !== undefined && {CHARACTER}.error !== null"
LOADED = f"() => {CHARACTER} !== undefined && {CHARACTER}.vrm !== null"
SEEK_SPEECH = f"""(seconds) => new Promise((resolve) => {{
    const audio = {VIEW}.audio;
    audio.pause();
    audio.addEventListener('seeked', () => resolve(audio.currentTime), {{once: true}});
    audio.currentTime = seconds;
}})"""
# VRM bones whose world positions the page reports, and the SMPL-X joints they should be at
TRACKED = {
    "head": "head",
    "leftLowerArm": "left_elbow",
    "leftHand": "left_wrist",
    "rightHand": "right_wrist",
    "rightIndexDistal": "right_index3",
}
# the character's time, mouth and bones, read in the frame after it followed the speech
STATE_IN_NEXT_FRAME = f"""() => new Promise((resolve) => requestAnimationFrame(
    () => requestAnimationFrame(() => {{
        const character = {CHARACTER};
        const bones = {{}};
        for (const name of {list(TRACKED)}) {{
            const node = character.vrm.humanoid.getRawBoneNode(name);
            bones[name] = node.getWorldPosition(new window.SemgesThree.THREE.Vector3()).toArray();
        }}
        resolve({{lag: character.lag(), mouth: character.mouth(), bones,
                  time: {VIEW}.audio.currentTime}});
    }})))"""
JOINT_TOLERANCE_M = 0.01  # three-vrm in the page against semges kinematics (0.5 mm seen)
SYNC_TOLERANCE_S = 0.1
MOUTH_TOLERANCE = 0.05  # the aa weight against the file's, linearly interpolated
SEEKS_S = (0.6, 1.3, 1.9, 2.6)
SCREENSHOT_SEEK_S = 2.6
CLIP_SECONDS = 3.2


def vrma_mouth(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(times, aa weights) read from a .vrma's JSON and BIN chunks."""
    import json

    raw = path.read_bytes()
    json_size = struct.unpack_from("<I", raw, 12)[0]
    document = json.loads(raw[20 : 20 + json_size])
    blob = raw[20 + json_size + 8 :]
    node = document["extensions"]["VRMC_vrm_animation"]["expressions"]["preset"]["aa"]["node"]
    (animation,) = document["animations"]
    (sampler,) = [
        animation["samplers"][c["sampler"]]
        for c in animation["channels"]
        if c["target"]["node"] == node
    ]

    def read(index: int, width: int) -> np.ndarray:
        accessor = document["accessors"][index]
        offset = document["bufferViews"][accessor["bufferView"]].get("byteOffset", 0)
        count = accessor["count"] * width
        return np.frombuffer(blob, np.float32, count, offset).reshape(-1, width)

    return read(sampler["input"], 1)[:, 0], read(sampler["output"], 3)[:, 0]


@pytest.fixture(scope="module")
def served(speech_frontend, tmp_path_factory):
    """(URL, service) of the demo around the shipped checkpoint, served from this process."""
    from semges.pipeline import SemGesPipeline
    from semges.render.gl_platform import configure_headless_gl

    configure_headless_gl()
    from webapp.rendering import Renderers
    from webapp.service import GestureService

    settings = app_settings(tmp_path_factory.mktemp("vrm-app"), max_audio_seconds=20)
    pipeline = SemGesPipeline.from_pretrained(
        REPO / "assets" / "checkpoint", frontend=speech_frontend
    )
    service = GestureService(pipeline, Renderers.load(), settings)
    with serve_demo(settings, service) as (url, _):
        yield url, service


def play_character(url: str, wav: Path, character: Path, not_a_vrm: Path, screenshot: Path) -> dict:
    """Open the page, drop ``not_a_vrm`` (refused), then ``character``, generate from ``wav``,
    seek the speech to each of :data:`SEEKS_S` and read the character's lag and mouth, and
    save a screenshot of it mid-gesture. Returns what was seen."""
    from playwright.sync_api import sync_playwright

    seen: dict = {"states": []}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport=LAPTOP)
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(url, wait_until="networkidle")
            picker = page.locator(CHARACTER_FILE)
            picker.set_input_files(str(not_a_vrm))
            page.wait_for_function(REFUSED, timeout=GENERATE_TIMEOUT_MS)
            seen["refusal"] = page.inner_text(".motion-view-character-message")
            picker.set_input_files(str(character))
            page.wait_for_function(LOADED, timeout=GENERATE_TIMEOUT_MS)
            seen["message after"] = page.evaluate(
                "() => document.querySelector('.motion-view-character-message').hidden"
            )
            page.locator("#speech-input input[type=file]").set_input_files(str(wav))
            page.get_by_text("Video", exact=True).click()
            page.get_by_label("Size").click()
            page.get_by_role("option", name="320 × 240 (fastest)").click()
            page.locator("#generate-button").click()
            page.wait_for_function(CHARACTER_PLAYS, timeout=GENERATE_TIMEOUT_MS)
            for seconds in SEEKS_S:
                page.evaluate(SEEK_SPEECH, seconds)
                seen["states"].append(page.evaluate(STATE_IN_NEXT_FRAME))
                if seconds == SCREENSHOT_SEEK_S:
                    screenshot.parent.mkdir(parents=True, exist_ok=True)
                    page.locator(".motion-view").screenshot(path=str(screenshot))
            page.evaluate(f"() => {VIEW}.audio.play()")
            before = page.evaluate(f"() => {VIEW}.audio.currentTime")
            page.wait_for_timeout(400)
            seen["advanced"] = page.evaluate(f"() => {VIEW}.audio.currentTime") - before
            seen["playing lag"] = page.evaluate(STATE_IN_NEXT_FRAME)["lag"]
            href = page.locator("#vrma-file a").first.get_attribute("href")
            seen["vrma"] = Path(unquote(re.sub(r"^.*?file=", "", href)))
            seen["mannequin hidden"] = page.evaluate(
                "() => getComputedStyle(document.querySelector('model-viewer')).visibility"
            )
        finally:
            browser.close()
    seen["foreign"] = [a for a in requested if not a.startswith((url, "data:", "blob:"))]
    return seen


def test_a_dropped_vrm_character_gestures_and_speaks_with_the_speech(served, tmp_path):
    url, service = served
    wav = write_speech_clip(tmp_path / "speech.wav", CLIP_SECONDS)
    character = write_character(tmp_path / "mannequin.vrm")
    not_a_vrm = tmp_path / "holiday.vrm"
    not_a_vrm.write_bytes(wav.read_bytes())  # audio named .vrm
    seen = play_character(url, wav, character, not_a_vrm, tmp_path / "character.png")

    assert "holiday.vrm" in seen["refusal"] and "is not a VRM character" in seen["refusal"]
    assert seen["message after"]  # a good file clears the message
    assert seen["mannequin hidden"] == "hidden"  # the character stands in for it
    times, weights = vrma_mouth(seen["vrma"])
    assert times[-1] == pytest.approx(round(CLIP_SECONDS * layout.FPS) / layout.FPS, abs=1e-4)
    for seconds, state in zip(SEEKS_S, seen["states"]):
        assert state["time"] == pytest.approx(seconds, abs=0.05)
        assert abs(state["lag"]) < SYNC_TOLERANCE_S, state
        expected = float(np.interp(state["time"], times, weights))
        assert state["mouth"] == pytest.approx(expected, abs=MOUTH_TOLERANCE), (seconds, state)
    assert max(state["mouth"] for state in seen["states"]) > 0.1  # the mouth opens
    # three-vrm places the bones where semges' kinematics puts the joints (relative to the
    # rest hips: the character stands on its own floor)
    npz_name = seen["vrma"].with_suffix(".npz").name  # in the request folder it came from
    motion = load_motion(next(service.settings.output_root.rglob(npz_name)))
    assert not np.any(motion.betas)  # the neutral body, as the character's
    expected = joint_positions(motion.poses) + motion.trans[:, None] - rest_joint_positions()[0]
    hips = tpose_skeleton().positions[0]
    for state in seen["states"]:
        frame = round(state["time"] * layout.FPS)
        for bone, joint in TRACKED.items():
            got = np.asarray(state["bones"][bone]) - hips
            want = expected[frame, layout.JOINT_NAMES.index(joint)]
            assert np.linalg.norm(got - want) < JOINT_TOLERANCE_M, (state["time"], bone)
    assert seen["advanced"] > 0 and abs(seen["playing lag"]) < SYNC_TOLERANCE_S
    assert not seen["foreign"], seen["foreign"]  # no CDN: everything from the demo
    assert (tmp_path / "character.png").stat().st_size > 10_000
