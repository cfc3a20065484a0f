"""The running demo (``python app.py`` in a subprocess on 127.0.0.1) through ``gradio_client``.

The app is pointed at a tiny randomly initialised checkpoint (a test fixture) with
``SEMGES_CHECKPOINT``, and at a free port with ``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from test_app import (
    CLIP_SECONDS,
    MAX_SECONDS,
    REPO,
    check_video,
    tiny_service_pipeline,
    write_bad_inputs,
    write_speech_clip,
)

from semges.motion import load_motion
from semges.pipeline import SemGesPipeline
from webapp.service import MAX_FRESH_SEED

pytestmark = pytest.mark.slow  # starts `python app.py` as a separate server process

STARTUP_TIMEOUT_S = 180
TEST_SIZE = "320x240"  # the smallest size the page offers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_server(process: subprocess.Popen) -> None:
    """Ctrl-C, as a person stops it; killed if it has not stopped within 20 s."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


READY_LINE = "Running on local URL"  # printed by Gradio's launch() once it is up
UNBUFFERED = {"PYTHONUNBUFFERED": "1"}  # app.py's output reaches its log as it is printed


def wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app.py exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                # Gradio answers before launch() has finished checking its own URL; a Ctrl-C
                # in between ends in a traceback. Its "Running on" line comes after the check.
                if response.status == 200 and READY_LINE in log.read_text():
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"app.py did not serve {url} in {STARTUP_TIMEOUT_S} s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def checkpoint(speech_frontend, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-checkpoint") / "pipeline"
    tiny_service_pipeline(speech_frontend).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def server(checkpoint, tmp_path_factory) -> str:
    """URL of ``python app.py`` serving the tiny checkpoint; stopped after the module."""
    folder = tmp_path_factory.mktemp("app-server")
    port = free_port()
    env = {
        **os.environ,
        "SEMGES_CHECKPOINT": str(checkpoint),
        "SEMGES_APP_OUTPUT": str(folder / "requests"),
        "SEMGES_APP_MAX_SECONDS": str(MAX_SECONDS),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_TEMP_DIR": str(folder / "gradio"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        **UNBUFFERED,
    }
    log = folder / "app.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(url, process, log)
        yield url
    finally:
        stop_server(process)
    assert "Traceback" not in log.read_text(), log.read_text()[-4000:]


@pytest.fixture(scope="module")
def speech_clip(tmp_path_factory) -> Path:
    return write_speech_clip(tmp_path_factory.mktemp("speech") / "speech.wav")


@contextmanager
def api_client(url: str) -> Iterator[Client]:
    """A Gradio client, closed after use: an open client's heartbeat stream keeps the server
    from stopping on Ctrl-C (it waited 20 s for them, then was killed)."""
    client = Client(url, verbose=False)
    try:
        yield client
    finally:
        client.close()


def generate(
    url: str, audio: Path | None, seed: int | str | None = 0, temperature: float = 0.0
) -> tuple:
    with api_client(url) as client:
        return client.predict(
            None if audio is None else handle_file(str(audio)),
            "",
            "scott",
            seed,
            temperature,
            "mannequin",
            "upper",
            TEST_SIZE,
            api_name="/generate",
        )


def test_wav_in_video_and_motion_out(server, speech_clip):
    video, transcript, words, npz, bvh, glb, vrma, seed = generate(server, speech_clip)
    assert seed == "0"  # the seed asked for, as digits
    check_video(Path(video), CLIP_SECONDS)
    assert "opinion" in transcript.lower()
    assert words["headers"] == ["word", "start (s)", "end (s)"] and len(words["data"]) >= 3
    assert load_motion(npz).num_frames == round(CLIP_SECONDS * 30)
    assert Path(bvh).read_text().startswith("HIERARCHY")
    assert Path(glb).read_bytes()[:4] == b"glTF"
    assert Path(vrma).suffix == ".vrma" and Path(vrma).read_bytes()[:4] == b"glTF"


def test_four_clients_at_once_each_get_their_own_result(
    server, speech_clip, checkpoint, speech_frontend
):
    seeds = [1, 2, 3, 4]
    with ThreadPoolExecutor(len(seeds)) as pool:
        results = list(pool.map(lambda s: generate(server, speech_clip, s, 1.0), seeds))
    # the same checkpoint in this process gives the reference motion for each seed
    reference = SemGesPipeline.from_pretrained(checkpoint, frontend=speech_frontend)
    for seed, (video, _, _, npz, _, _, _, seed_used) in zip(seeds, results):
        assert seed_used == str(seed)
        check_video(Path(video), CLIP_SECONDS)
        expected = reference(str(speech_clip), seed=seed, temperature=1.0).motion.poses
        np.testing.assert_allclose(load_motion(npz).poses, expected, atol=1e-4)
    poses = [load_motion(result[3]).poses for result in results]
    assert not np.allclose(poses[0], poses[1])  # seeds really give variations


def test_bad_input_gets_its_message_and_the_server_keeps_serving(server, speech_clip, tmp_path):
    for name, (path, words) in write_bad_inputs(tmp_path).items():
        with pytest.raises(AppError) as caught:
            generate(server, path)
        assert words in str(caught.value).lower(), (name, str(caught.value))
        assert "Traceback" not in str(caught.value)
    _, transcript, _, npz, *_ = generate(server, speech_clip)
    assert "opinion" in transcript.lower()
    assert load_motion(npz).num_frames == round(CLIP_SECONDS * 30)


def test_the_api_is_named_and_examples_are_shipped(server):
    with api_client(server) as client:
        info = client.view_api(return_format="dict", print_info=False)
    assert "/generate" in info["named_endpoints"]
    assert len(list((REPO / "assets" / "examples").glob("*.wav"))) >= 2


def test_the_audio_alone_is_enough(server, speech_clip):
    with api_client(server) as client:
        api = client.view_api(return_format="dict", print_info=False)
        video, transcript, _, npz, _, _, _, seed = client.predict(
            audio=handle_file(str(speech_clip)), api_name="/generate"
        )
    parameters = api["named_endpoints"]["/generate"]["parameters"]
    assert [p["parameter_name"] for p in parameters if not p["parameter_has_default"]] == ["audio"]
    seed_parameter = next(p for p in parameters if p["parameter_name"] == "seed")
    assert seed_parameter["parameter_default"] == ""  # the empty seed box: a fresh seed
    check_video(Path(video), CLIP_SECONDS)
    assert "opinion" in transcript.lower()
    assert load_motion(npz).num_frames == round(CLIP_SECONDS * 30)
    assert seed.isdecimal() and 0 <= int(seed) <= MAX_FRESH_SEED  # a fresh one, given back


def test_a_returned_seed_makes_the_same_motion_again(server, speech_clip):
    """A visitor liked a result: its seed, sent back, gives the same motion; asking for no
    seed gives a new one every time (variation 1, where the seed picks the gestures)."""
    fresh = [generate(server, speech_clip, None, 1.0) for _ in range(2)]
    seeds = [outputs[-1] for outputs in fresh]
    assert seeds[0] != seeds[1]
    # sent back as the API gave it (digits) and as a number: both are that seed
    first, again = (generate(server, speech_clip, seed, 1.0) for seed in (seeds[0], int(seeds[0])))
    assert first[-1] == again[-1] == seeds[0]
    poses = load_motion(first[3]).poses
    np.testing.assert_array_equal(load_motion(again[3]).poses, poses)
    np.testing.assert_array_equal(load_motion(fresh[0][3]).poses, poses)
    assert not np.allclose(load_motion(fresh[1][3]).poses, poses)
