"""Write files so that nobody ever sees half of one: write beside, then rename into place.

The one partial-file rule of the project: whatever is still being written (a file or a
staging folder) lies beside its target as ``.STEM.XXXXXXXX.partial[SUFFIX]``: hidden, unique,
and recognisable by :func:`is_partial`, so a clean-up (``webapp.workspace``) finds exactly
what an interrupted writer left behind. Every writer (npz, words, BVH, glTF, PNG, the video
encoder, checkpoint folders) takes its temporary name from here.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PARTIAL_MARK = ".partial"
"""In the name of every file or folder still being written, and of nothing else."""
PARTIAL_GLOB = f".*{PARTIAL_MARK}*"
"""A glob that matches the partial names :func:`partial_path` makes."""


def partial_path(path: str | os.PathLike) -> Path:
    """A fresh temporary name beside ``path`` (same folder and suffix) to write it under.

    ``out/talk.mp4`` -> ``out/.talk.1f3a9c02.partial.mp4``; unique, so concurrent writers
    never share one.
    """
    path = Path(path)
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}{PARTIAL_MARK}{path.suffix}")


def is_partial(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a name :func:`partial_path` made (something still being written)."""
    name = Path(path).name
    return name.startswith(".") and PARTIAL_MARK in name


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (:func:`partial_path`) to write to.

    When the block succeeds the file is renamed to ``path`` in one step; when it raises, the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(path)
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


@contextmanager
def atomic_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty staging folder beside ``folder`` (:func:`partial_path`) to fill.

    When the block succeeds, ``folder`` (if any) is replaced by it; when it raises, the
    staging folder is removed and ``folder`` is left as it was.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = partial_path(folder)
    staging.mkdir()
    try:
        yield staging
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
