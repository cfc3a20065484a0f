"""Old download links say "expired", not "403 Forbidden".

The demo keeps each result for ``keep_minutes`` (its request folder and Gradio's cached copy
are both cleaned). A visitor who comes back to a page and clicks an old link would get
Gradio's "File not allowed" with status 403, which reads like a permission problem. This
middleware answers such links, and only those, with 410 Gone and a plain sentence: a file
link (``/gradio_api/file=...``) that points into one of the demo's own folders (request
folders or Gradio's cache) where no file is any more. Everything else passes through to
Gradio unchanged, so Gradio still decides what may be served.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from urllib.parse import unquote

Scope = MutableMapping[str, object]
Message = MutableMapping[str, object]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

GRADIO_API_PREFIX = "gradio_api/"
FILE_ROUTE_NAME = "file="
GRADIO_FILE_ROUTE = GRADIO_API_PREFIX + FILE_ROUTE_NAME
"""Gradio's public file route (its "File access" guide), relative to the page: Spaces proxy it.
The page's links (:func:`file_link`) and this middleware's match both come from it."""
FILE_ROUTE = re.compile(  # also the older route without the prefix
    rf"(?:^|/)(?:{re.escape(GRADIO_API_PREFIX)})?{re.escape(FILE_ROUTE_NAME)}(?P<path>.+)$"
)
UPLOAD_FOLDER_ENV = "GRADIO_TEMP_DIR"
GONE = 410


def file_link(path: str | os.PathLike) -> str:
    """The page-relative link Gradio serves ``path`` under (when its folder is allowed)."""
    return f"{GRADIO_FILE_ROUTE}{os.fspath(path)}"


def gradio_upload_folder() -> Path:
    """Where Gradio keeps uploads and its cached copies of results, by its documented rule:
    ``$GRADIO_TEMP_DIR``, else ``gradio`` in the system's temporary folder.

    (Gradio's own ``gradio.utils.get_upload_folder`` is not public API;
    tests/test_private_apis.py checks that the two agree.)
    """
    return Path(
        os.environ.get(UPLOAD_FOLDER_ENV) or (Path(tempfile.gettempdir()) / "gradio").resolve()
    )


def expired_message(keep_minutes: int) -> str:
    return (
        f"This download has expired: the demo keeps results for {keep_minutes} minutes. "
        "Generate again to get a new one.\n"
    )


def linked_path(url_path: str) -> Path | None:
    """The file a Gradio file link names, or None when ``url_path`` is not a file link."""
    match = FILE_ROUTE.search(url_path)
    return Path(unquote(match["path"])) if match else None


def is_expired(path: Path, roots: Iterable[Path]) -> bool:
    """Whether ``path`` lies inside one of ``roots`` (resolved, so ``..`` cannot escape them)
    and names no file there now."""
    resolved = Path(os.path.abspath(path))
    inside = any(resolved.is_relative_to(Path(os.path.abspath(root))) for root in roots)
    return inside and not resolved.is_file()


class ExpiredDownloads:
    """ASGI middleware: 410 with a plain message for file links to cleaned-up results."""

    def __init__(self, app: ASGIApp, roots: tuple[Path, ...], keep_minutes: int) -> None:
        self.app = app
        self.roots = roots
        self.body = expired_message(keep_minutes).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = linked_path(str(scope["path"]))
            if path is not None and is_expired(path, self.roots):
                await self._gone(scope, send)
                return
        await self.app(scope, receive, send)

    async def _gone(self, scope: Scope, send: Send) -> None:
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(self.body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": GONE, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else self.body
        await send({"type": "http.response.body", "body": body})
