"""A long run of requests across picture sizes and views: the server's memory levels off.

The service runs in this process with the real front-end and renderers around a tiny random
pipeline. Requests cycle through more picture sizes than the renderer cache keeps (so
renderers are built and closed again) and both views, two at a time as the demo's default
concurrency serves them. Resident memory is read after each round; after a warm-up it must
stop rising. A renderer that is evicted but not freed costs megabytes of framebuffers per
round and fails this test.
"""

from __future__ import annotations

import gc
import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_app import app_settings, tiny_service_pipeline, write_speech_clip

from semges.render.framing import VIEWS
from webapp.memory import return_freed_memory
from webapp.rendering import MAX_RENDERERS_PER_BODY
from webapp.service import GenerateRequest

WARM_UP_ROUNDS = 2
MEASURED_ROUNDS = 2
SIZES = [(96 + 32 * k, 72 + 24 * k) for k in range(MAX_RENDERERS_PER_BODY + 1)]
CONCURRENCY = 2
CLIP_SECONDS = 0.5  # the renderers, not the clip, are what leaked: short clips, quick rounds
# Over all measured rounds together. Round-to-round noise here is up to 45 MB; the leak this
# guards against cost 780 MB over 150 requests (5 MB a request, 100 MB over these rounds).
ALLOWED_GROWTH_MB = 75.0
KIB_PER_MIB = 1024


def resident_mb() -> float:
    """This process's resident set size (MiB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / KIB_PER_MIB
    raise RuntimeError("no VmRSS in /proc/self/status")


@pytest.fixture(scope="module")
def service(speech_frontend, tmp_path_factory):
    from semges.render.gl_platform import configure_headless_gl

    configure_headless_gl()
    from webapp.rendering import Renderers
    from webapp.service import GestureService

    settings = app_settings(tmp_path_factory.mktemp("memory-app"), concurrency=CONCURRENCY)
    service = GestureService(tiny_service_pipeline(speech_frontend), Renderers.load(), settings)
    yield service
    service.renderers.close()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_memory_levels_off_over_repeated_requests(service, tmp_path):
    speech = write_speech_clip(tmp_path / "speech.wav", CLIP_SECONDS)
    requests = [
        GenerateRequest(audio_path=speech, transcript="well in my", size=size, view=view, seed=seed)
        for seed, (size, view) in enumerate(itertools.product(SIZES, VIEWS))
    ]

    def one_round() -> float:
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            for result in pool.map(service.generate, requests):
                assert result.video.is_file()
        gc.collect()
        return_freed_memory()  # count what is held, not what glibc keeps for reuse
        return resident_mb()

    for _ in range(WARM_UP_ROUNDS):
        settled = one_round()
    measured = [one_round() for _ in range(MEASURED_ROUNDS)]
    growth = max(measured) - settled
    assert growth < ALLOWED_GROWTH_MB, (
        f"resident memory kept rising over {len(requests) * MEASURED_ROUNDS} requests: "
        f"{settled:.0f} MB after warm-up, then {', '.join(f'{m:.0f}' for m in measured)} MB"
    )
