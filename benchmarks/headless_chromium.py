"""The headless chromium that the browser benchmark and the browser tests drive (Debian's
package, WebGL on the CPU), in one place."""

from __future__ import annotations

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


def launch_chromium(playwright: Any) -> Any:
    """A Playwright ``Browser`` of :data:`CHROMIUM` with :data:`CHROMIUM_ARGS`."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
