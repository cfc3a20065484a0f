"""The BEAT2 folder layout that inference needs: where the speech is and which split a clip is in.

A BEAT2 language folder (``beat_english_v2.0.0/``) holds ``wave16k/<id>.wav`` (speech, 16 kHz
mono) and ``train_test_split.csv`` (``id,type`` with type in train / val / test / additional),
beside the motion and annotations that training reads (:mod:`training.beat2_files`).
"""

from __future__ import annotations

import csv
from pathlib import Path

WAVE_DIR = "wave16k"
SPLIT_FILE = "train_test_split.csv"
SPLITS = ("train", "val", "test", "additional")


class DatasetError(ValueError):
    """A BEAT2 folder or one of its files is missing or malformed."""


def read_split(root: Path) -> dict[str, str]:
    """``train_test_split.csv`` -> {clip id: split}."""
    path = root / SPLIT_FILE
    if not path.is_file():
        raise DatasetError(f"{root} has no {SPLIT_FILE}: not a BEAT2 folder")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and not {"id", "type"} <= rows[0].keys():
        raise DatasetError(f"{path} must have columns id,type")
    return {row["id"].strip(): row["type"].strip() for row in rows}


def split_speech(root: Path, split: str) -> dict[str, Path]:
    """{clip id: its ``wave16k`` speech path} of every clip of ``split``, sorted by id.

    The paths are not checked: a clip listed without its speech file is the caller's to report.
    """
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    ids = sorted(clip for clip, kind in read_split(root).items() if kind == split)
    return {clip: root / WAVE_DIR / f"{clip}.wav" for clip in ids}
