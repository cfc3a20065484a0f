"""Reading the files of a BEAT2 language folder (``beat_english_v2.0.0/`` or a corpus in the
same layout): which clips exist, their split, word alignments and semantic annotations.

Layout::

    smplxflame_30/<id>.npz      SMPL-X motion at 30 fps
    wave16k/<id>.wav            speech, 16 kHz mono
    textgrid/<id>.TextGrid      Praat alignment; tier "words"
    sem/<id>.txt                semantic gestures: type, start, end, duration, score, keywords
    train_test_split.csv        id,type with type in train / val / test / additional

File ids look like ``2_scott_0_1_1``: the leading number is the speaker id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semges import layout
from semges.beat2_layout import (
    SPLIT_FILE,  # noqa: F401 (re-exported: training code uses files.*)
    SPLITS,
    WAVE_DIR,
    DatasetError,
    read_split,
)
from semges.speakers import speaker_id_from_clip_name
from semges.speech import Word

logger = logging.getLogger(__name__)

MOTION_DIR = "smplxflame_30"
TEXTGRID_DIR = "textgrid"
SEM_DIR = "sem"
WORD_TIER = "words"
CLIP_FILES = {MOTION_DIR: ".npz", WAVE_DIR: ".wav", TEXTGRID_DIR: ".TextGrid"}  # sub-folder: suffix
DOWNLOAD_URL = "https://huggingface.co/datasets/H-Liu1997/BEAT2"
LANGUAGE_FOLDER = (
    "a BEAT2 language folder like beat_english_v2.0.0/ ("
    + ", ".join(f"{sub}/" for sub in CLIP_FILES)
    + f", {SPLIT_FILE})"
)


@dataclass(frozen=True)
class ClipRecord:
    """Paths of one clip's files; ``sem`` is None when the clip has no semantic annotation."""

    clip_id: str
    speaker: int
    split: str
    motion: Path
    wav: Path
    textgrid: Path
    sem: Path | None


@dataclass(frozen=True)
class SemanticSpan:
    """One annotated gesture: [start, end) in seconds with relevance score in [0, 1]."""

    kind: str
    start: float
    end: float
    score: float
    keywords: str


def list_clips(
    root: str | Path,
    speakers: tuple[int, ...] | list[int] | None,
    splits: tuple[str, ...] | list[str],
) -> list[ClipRecord]:
    """Clips of the given speakers (None: all) and splits that have motion, wav and TextGrid.

    Clips listed in the split file but lacking one of the three files are skipped with a
    warning (BEAT2 has a few); an empty result is an error.
    """
    root = Path(root)
    unknown = set(splits) - set(SPLITS)
    if unknown:
        raise DatasetError(f"unknown splits {sorted(unknown)}; known: {SPLITS}")
    records = []
    for clip_id, split in sorted(read_split(root).items()):
        if split not in splits:
            continue
        speaker = speaker_id_from_clip_name(clip_id)
        if speakers is not None and speaker not in speakers:
            continue
        motion, wav, textgrid = (clip_file(root, sub, clip_id) for sub in CLIP_FILES)
        missing = [p.name for p in (motion, wav, textgrid) if not p.is_file()]
        if missing:
            logger.warning("skipping %s: missing %s", clip_id, missing)
            continue
        sem = root / SEM_DIR / f"{clip_id}.txt"
        records.append(
            ClipRecord(
                clip_id, speaker, split, motion, wav, textgrid, sem if sem.is_file() else None
            )
        )
    if not records:
        raise DatasetError(f"no clips in {root} for speakers {speakers} and splits {splits}")
    return records


def clip_file(root: Path, sub: str, clip_id: str) -> Path:
    """``<root>/<sub>/<clip id><suffix>`` for a sub-folder of :data:`CLIP_FILES`."""
    return root / sub / f"{clip_id}{CLIP_FILES[sub]}"


def dataset_error(folder: Path, expected: str, problem: str) -> DatasetError:
    """A missing or incomplete dataset in one line: the folder, what was expected in it, what
    is wrong, and where BEAT2 is downloaded."""
    return DatasetError(
        f"{folder}: expected {expected}, but {problem}. BEAT2 can be downloaded from {DOWNLOAD_URL}"
    )


def require_files(folder: Path, expected: str, names: Iterable[str]) -> None:
    """Raise :func:`dataset_error` unless ``folder`` holds every relative path of ``names``."""
    if not folder.is_dir():
        raise dataset_error(folder, expected, "the folder does not exist")
    missing = [name for name in names if not (folder / name).exists()]
    if missing:
        raise dataset_error(folder, expected, f"it lacks {', '.join(missing)}")


def require_clips_or_exit(
    root: str | Path,
    speakers: list[int] | None,
    splits: list[str],
    subs: Iterable[str] = tuple(CLIP_FILES),
) -> None:
    """:func:`require_clips` for a command line: a missing or incomplete dataset ends the
    program with its one-line message (exit status 1), before anything is trained."""
    try:
        require_clips(Path(root), speakers, splits, subs)
    except DatasetError as error:
        raise SystemExit(f"error: {error}") from None


def require_clips(
    root: Path,
    speakers: list[int] | None,
    splits: list[str],
    subs: Iterable[str] = tuple(CLIP_FILES),
) -> None:
    """Raise :func:`dataset_error` unless ``root`` is a BEAT2 language folder whose split file
    lists a clip of ``speakers`` (None: any) in ``splits`` with its file in every sub-folder of
    ``subs``. Only looks for files, so it answers at once, before any training."""
    require_files(root, LANGUAGE_FOLDER, [*(f"{sub}/" for sub in CLIP_FILES), SPLIT_FILE])
    subs = list(subs)
    listed = [
        clip
        for clip, split in read_split(root).items()
        if split in splits and (speakers is None or speaker_id_from_clip_name(clip) in speakers)
    ]
    who = "any speaker" if speakers is None else "speaker " + ", ".join(map(str, speakers))
    expected = f"a clip of {who} in split {', '.join(splits)} with its " + ", ".join(
        f"{sub}/<id>{CLIP_FILES[sub]}" for sub in subs
    )
    if not listed:
        raise dataset_error(root, expected, f"{SPLIT_FILE} lists none")
    if not any(all(clip_file(root, sub, clip).is_file() for sub in subs) for clip in listed):
        raise dataset_error(
            root, expected, f"none of the {len(listed)} listed in {SPLIT_FILE} has them all"
        )


def read_words(path: str | Path, tier: str = WORD_TIER) -> list[Word]:
    """Timed words of a Praat TextGrid tier (empty intervals dropped)."""
    from praatio import textgrid

    grid = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    if tier not in grid.tierNames:
        raise DatasetError(f"{path} has no tier {tier!r} (tiers: {grid.tierNames})")
    return [
        Word(e.label.strip(), float(e.start), float(e.end))
        for e in grid.getTier(tier).entries
        if e.label.strip()
    ]


def read_semantic_spans(path: str | Path) -> list[SemanticSpan]:
    """A BEAT ``sem/*.txt``: tab-separated type, start, end, duration, score, keywords.

    A header line, blank lines and rows whose numbers do not parse are skipped.
    """
    spans = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 5:
            continue
        try:
            start, end, score = float(fields[1]), float(fields[2]), float(fields[4])
        except ValueError:
            continue  # header line
        keywords = fields[5].strip() if len(fields) > 5 else ""
        spans.append(
            SemanticSpan(fields[0].strip(), start, end, float(np.clip(score, 0, 1)), keywords)
        )
    return spans


def semantic_scores(
    spans: list[SemanticSpan], num_frames: int, fps: int = layout.FPS
) -> np.ndarray:
    """(num_frames,) float32 per-frame relevance: the highest score of a span covering the frame
    centre, 0 where none does."""
    scores = np.zeros(num_frames, np.float32)
    centres = (np.arange(num_frames) + 0.5) / fps
    for span in spans:
        inside = (centres >= span.start) & (centres < span.end)
        scores[inside] = np.maximum(scores[inside], span.score)
    return scores
