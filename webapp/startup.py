"""Start-up: load the checkpoint, warm the speech front-end and the renderer, or refuse.

The demo never starts with random weights presented as a model: without a trained checkpoint
it stops with a message saying how to get one.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from webapp.settings import EXAMPLES_FOLDER, AppSettings

if TYPE_CHECKING:
    import gradio as gr

    from webapp.live_stage import LiveStage
    from webapp.service import GestureService

logger = logging.getLogger(__name__)

QUEUE_BACKSTOP = 2  # Gradio's own queue bound, in multiples of the demo's: see create_demo


class StartupError(RuntimeError):
    """The demo cannot start as configured; the message says what to do."""


def load_service(settings: AppSettings) -> GestureService:
    """Pipeline (+ warmed front-end) and renderers, ready to serve. Raises StartupError."""
    if not settings.checkpoint.is_dir():  # checked first: refusing must not take long
        raise StartupError(
            f"no checkpoint at {settings.checkpoint}. The demo does not run untrained weights. "
            "Train the default checkpoint (`python -m training.default_checkpoint`) or point "
            "SEMGES_CHECKPOINT (or --checkpoint) at a trained pipeline folder."
        )
    from semges.render.gl_platform import configure_headless_gl

    configure_headless_gl()  # before anything imports OpenGL

    from semges.pipeline import SemGesPipeline
    from semges.render.video_encoder import DEFAULT_SIZE
    from semges.serialization import CheckpointError
    from webapp.rendering import Renderers
    from webapp.service import GestureService

    started = time.perf_counter()
    try:
        pipeline = SemGesPipeline.from_pretrained(settings.checkpoint)
    except (CheckpointError, OSError, ValueError) as error:
        raise StartupError(
            f"cannot load the checkpoint at {settings.checkpoint}: {error}"
        ) from error
    try:
        _ = pipeline.frontend  # loads Whisper and the word encoder, runs them once, checks sizes
    except CheckpointError as error:
        raise StartupError(f"cannot serve {settings.checkpoint}: {error}") from error
    pipeline.warm_up()
    try:
        renderers = Renderers.load(settings.smplx_model, warm_size=DEFAULT_SIZE)
    except ValueError as error:
        raise StartupError(str(error)) from error
    logger.info(
        "demo ready in %.1f s: checkpoint %s, bodies %s",
        time.perf_counter() - started,
        settings.checkpoint,
        ", ".join(renderers.bodies),
    )
    return GestureService(pipeline, renderers, settings)


def create_demo(settings: AppSettings, service: GestureService | None = None) -> gr.Blocks:
    """The page around ``service`` (loaded from ``settings`` when not given), queue configured.

    The queue bounds both the waiting line (``queue_size``; further requests are told the
    demo is busy) and the work done at once (``concurrency``). The page's admission check
    turns requests away at ``queue_size`` with the demo's own message; Gradio's bound, further
    out, is only a backstop (its refusal says "Queue is full").
    """
    service = service if service is not None else load_service(settings)
    from webapp.ui import build_demo  # imports gradio: after a refusal could have happened

    demo = build_demo(service)
    demo.queue(
        max_size=settings.queue_size * QUEUE_BACKSTOP,
        default_concurrency_limit=settings.concurrency,
    )
    return demo


def launch_options(settings: AppSettings, live_stage: LiveStage | None = None) -> dict[str, object]:
    """Keyword arguments for ``demo.launch``; host and port come from GRADIO_SERVER_NAME/PORT.

    Uploads above the size limit are stopped by Gradio while they arrive (the service checks
    again before decoding); the examples folder is served so an example can be re-cached;
    links to results that were cleaned up answer "expired" (``webapp.downloads``). The Live
    page's routes (``webapp.live_routes``) serve ``live_stage``; by default one streaming from
    the settings' checkpoint with a pipeline of its own (``app.py`` shares the service's).
    """
    from starlette.middleware import Middleware

    from webapp.downloads import ExpiredDownloads, gradio_upload_folder
    from webapp.live_page import NAVBAR_CSS
    from webapp.live_routes import live_routes
    from webapp.live_stage import stage_for

    live_stage = live_stage if live_stage is not None else stage_for(settings)

    result_folders = (settings.output_root, gradio_upload_folder())
    return {
        "share": settings.share,
        "head": f"<style>{NAVBAR_CSS}</style>",  # unscoped: Gradio scopes ``css`` to the page body
        "allowed_paths": [str(settings.output_root), str(EXAMPLES_FOLDER)],
        "max_file_size": settings.max_upload_bytes,
        "app_kwargs": {
            "middleware": [
                Middleware(
                    ExpiredDownloads, roots=result_folders, keep_minutes=settings.keep_minutes
                )
            ],
            "routes": live_routes(live_stage),
        },
    }
