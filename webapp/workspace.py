"""One directory per request under an output root, and removal of the old ones.

Every request writes its files (video, motion, BVH) into a fresh ``tempfile.mkdtemp`` folder,
so concurrent requests never share a file name. Folders older than the retention time are
deleted whenever a new request starts, which bounds disk use without a background thread.
At start-up, half-written files that an interrupted run left behind are deleted too.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path

from semges.atomic_files import PARTIAL_GLOB, is_partial

logger = logging.getLogger(__name__)

REQUEST_PREFIX = "request-"


class Workspace:
    """Creates request folders under ``root`` and deletes those older than ``keep_seconds``."""

    def __init__(self, root: Path, keep_seconds: float) -> None:
        self.root = Path(root)
        self.keep_seconds = keep_seconds
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.remove_partial()  # what a previous run of the server left behind
        self.remove_old()

    def new_request_dir(self) -> Path:
        """A new, empty, private folder for one request (old folders are cleaned up first)."""
        self.remove_old()
        return Path(tempfile.mkdtemp(prefix=REQUEST_PREFIX, dir=self.root))

    def remove_old(self, now: float | None = None) -> int:
        """Delete request folders last modified more than ``keep_seconds`` ago; returns how many."""
        cutoff = (time.time() if now is None else now) - self.keep_seconds
        removed = 0
        with self._lock:  # two requests starting together must not race over the same folder
            for folder in self.root.glob(f"{REQUEST_PREFIX}*"):
                try:
                    if folder.is_dir() and folder.stat().st_mtime < cutoff:
                        shutil.rmtree(folder)
                        removed += 1
                except FileNotFoundError:
                    continue
                except OSError as error:
                    logger.warning("could not remove old request folder %s: %s", folder, error)
        if removed:
            logger.info(
                "removed %d request folder(s) older than %.0f s", removed, self.keep_seconds
            )
        return removed

    def remove_partial(self) -> int:
        """Delete half-written files in request folders; returns how many.

        Only safe while no request is running (at start-up): a running request's files are
        half-written until it finishes.
        """
        removed = 0
        with self._lock:
            for path in self.root.glob(f"{REQUEST_PREFIX}*/**/{PARTIAL_GLOB}"):
                try:
                    if path.is_dir() and is_partial(path):
                        shutil.rmtree(path)
                        removed += 1
                    elif path.is_file() and is_partial(path):
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
                except OSError as error:
                    logger.warning("could not remove half-written file %s: %s", path, error)
        if removed:
            logger.info("removed %d half-written file(s) of interrupted requests", removed)
        return removed
