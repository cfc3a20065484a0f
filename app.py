"""semges web demo: record or upload speech, watch a body gesture to it, download the motion.

    python app.py                     # http://127.0.0.1:7860 (GRADIO_SERVER_NAME/PORT honoured)
    SEMGES_CHECKPOINT=DIR python app.py
    python app.py --share             # or SEMGES_APP_SHARE=1: a public gradio.live link

Everything is loaded once here (pipeline, warmed speech front-end, renderer); the page and its
handler live in ``webapp``. Settings: see ``webapp.settings.AppSettings``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from semges.openmp import prefer_passive_waits

prefer_passive_waits()  # before torch loads: the Live page's steps and decodes share 2 cores

from semges.shipped_checkpoint import SHIPPED_CHECKPOINT  # noqa: E402

logger = logging.getLogger("semges.app")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help=f"pipeline folder (default: $SEMGES_CHECKPOINT or {SHIPPED_CHECKPOINT})",
    )
    parser.add_argument("--share", action="store_true", help="create a public gradio.live link")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    from webapp.live_stage import stage_for
    from webapp.settings import AppSettings, SettingsError
    from webapp.startup import StartupError, create_demo, launch_options, load_service

    try:
        settings = AppSettings.from_env()
    except SettingsError as error:
        sys.exit(f"semges demo: {error}")
    if args.checkpoint is not None:
        settings = dataclasses.replace(settings, checkpoint=args.checkpoint)
    if args.share:
        settings = dataclasses.replace(settings, share=True)
    try:
        service = load_service(settings)
    except StartupError as error:
        sys.exit(f"semges demo cannot start: {error}")
    demo = create_demo(settings, service)
    # the Live page's streams share the service's pipeline (one speech front-end in memory)
    demo.launch(**launch_options(settings, stage_for(settings, service.pipeline)))


if __name__ == "__main__":
    main()
