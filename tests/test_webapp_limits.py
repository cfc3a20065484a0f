"""The demo's bounds as a client meets them: a full waiting line is refused in the demo's words,
and a link to a result that was cleaned up says it expired.

The demo runs in this process (a thread) around a tiny random pipeline, with the real front-end
and renderer, a waiting line of one and one request worked on at a time. Holding the service's
model lock keeps the first request running, so the line fills deterministically.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from gradio_client import Client, handle_file
from gradio_client.exceptions import ValidationError
from served_demo import serve_demo
from test_app import app_settings, tiny_service_pipeline, write_speech_clip

from webapp.downloads import file_link
from webapp.handlers import BUSY_MESSAGE

pytestmark = pytest.mark.slow  # serves the demo over HTTP
WAIT_S = 60


@pytest.fixture(scope="module")
def busy_demo(speech_frontend, tmp_path_factory):
    """(URL, service) of a demo with a waiting line of one request."""
    from semges.render.gl_platform import configure_headless_gl

    configure_headless_gl()
    from webapp.rendering import Renderers
    from webapp.service import GestureService

    settings = app_settings(tmp_path_factory.mktemp("busy-app"), queue_size=1, concurrency=1)
    service = GestureService(tiny_service_pipeline(speech_frontend), Renderers.load(), settings)
    with serve_demo(settings, service) as (url, _):
        yield url, service


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_a_full_waiting_line_is_refused_in_the_demos_words(busy_demo, tmp_path):
    url, service = busy_demo
    speech = handle_file(str(write_speech_clip(tmp_path / "speech.wav")))
    client = Client(url, verbose=False)
    with service._model_lock:  # the first request runs and holds the model
        running = client.submit(audio=speech, size="320x240", api_name="/generate")
        wait_for(
            lambda: (
                service._model_lock.locked()
                and running.status().code.name in {"PROCESSING", "PROGRESS"}
            ),
            "the first request to start",
        )
        waiting = client.submit(audio=speech, size="320x240", api_name="/generate")
        wait_for(lambda: waiting.status().code.name == "IN_QUEUE", "the second to wait")
        with pytest.raises(ValidationError) as caught:
            client.predict(audio=speech, size="320x240", api_name="/generate")
        assert BUSY_MESSAGE in str(caught.value)
        assert "Queue is full" not in str(caught.value)
    for job in (running, waiting):  # the server kept serving the others
        video, transcript, *_ = job.result(timeout=WAIT_S * 2)
        assert Path(video).exists() and "opinion" in transcript.lower()


def test_an_old_download_link_says_it_expired(busy_demo):
    url, service = busy_demo
    folder = service.workspace.new_request_dir()
    result = folder / "speech_scott_seed0.bvh"
    result.write_text("HIERARCHY\n")
    link = f"{url}{file_link(result)}"
    assert requests.get(link, timeout=WAIT_S).text == "HIERARCHY\n"

    service.workspace.remove_old(now=time.time() + service.workspace.keep_seconds + 1)
    assert not folder.exists()
    for response in (requests.get(link, timeout=WAIT_S), requests.head(link, timeout=WAIT_S)):
        assert response.status_code == 410
    message = requests.get(link, timeout=WAIT_S).text
    assert "expired" in message and f"{service.settings.keep_minutes} minutes" in message
    # a path outside the demo's folders is still Gradio's to refuse, as before
    outside = requests.get(f"{url}{file_link('/etc/passwd')}", timeout=WAIT_S)
    assert outside.status_code == 403 and "root:" not in outside.text
    escape = requests.get(f"{url}{file_link(folder.parent)}/../../etc/passwd", timeout=WAIT_S)
    assert escape.status_code in (403, 404) and "root:" not in escape.text
