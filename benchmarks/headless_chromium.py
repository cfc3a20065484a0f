"""The headless chromium that the browser benchmarks and the browser tests drive (Debian's
package, WebGL on the CPU), in one place."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",  # WebGL on the CPU
]


def launch_chromium(playwright: Any, extra_args: Sequence[str] = ()) -> Any:
    """A Playwright ``Browser`` of :data:`CHROMIUM` with :data:`CHROMIUM_ARGS` and
    ``extra_args`` (e.g. :func:`fake_microphone_args`)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
    )


# Composite the page in software, not through SwiftShader's GL: a page drawing WebGL on every
# frame (the Live page) draws about a third more frames this way (measured: 20-25 fps -> 29-34
# fps for the mannequin at 1280x800 on 2 cores).
SOFTWARE_COMPOSITING = "--disable-gpu-compositing"


def fake_microphone_args(wav: Path) -> list[str]:
    """Flags that give pages a microphone playing ``wav`` (16-bit PCM; it loops), allowed
    without asking."""
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
    ]
