"""The demo served from the test process (a thread) on a free loopback port, around a given
service: what the browser and client tests talk to."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr


@contextmanager
def serve_demo(settings, service, live_stage=None) -> Iterator[tuple[str, gr.Blocks]]:
    """(URL, Blocks) of the demo around ``service`` while the block runs; closed after, with
    the service's renderers. ``live_stage``: what the Live page streams with (None: the
    default, from the settings' checkpoint)."""
    from webapp.startup import create_demo, launch_options

    demo = create_demo(settings, service)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        **launch_options(settings, live_stage),
    )
    try:
        yield f"http://127.0.0.1:{port}/", demo
    finally:
        demo.close()
        service.renderers.close()
