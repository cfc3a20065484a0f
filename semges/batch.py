"""Run one job over many clips: choose the clips, skip finished ones, spread the rest over
worker processes, and report every failure without stopping the others.

    clips = take_shard(find_clips([Path("speech/")], AUDIO_SUFFIXES), Shard.parse("2/3"))
    report = run_batch(job, clips, workers=4)
    sys.exit(0 if report.ok else 1)

A job (:class:`ClipJob`) is pickled to every worker process, which loads its models once, in
``job.setup()`` before its first clip, and then calls ``job.run(clip)`` per clip (a setup error,
such as a bad checkpoint, is then reported as each clip's failure, not as a traceback). A clip
is done when every path of ``job.outputs(clip)`` exists; jobs write them atomically
(:mod:`semges.atomic_files`), so a killed run leaves no half-written output and a re-run skips
the finished clips. Workers start with "spawn": nothing of the parent (which imports no torch)
is forked, and each worker's thread count is the job's to set in ``setup()``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import resource
import signal
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from semges.beat2_layout import SPLIT_FILE, DatasetError, split_speech
from semges.speakers import speaker_id_from_clip_name
from semges.speech.audio import FOLDER_SPEECH_SUFFIXES
from semges.speech.transcription import available_cpu_threads

if TYPE_CHECKING:
    from tqdm import tqdm

logger = logging.getLogger(__name__)

AUDIO_SUFFIXES = FOLDER_SPEECH_SUFFIXES
"""Speech files a folder contributes (any case); other files in it are ignored."""

_KIB = 1024  # ru_maxrss is in KiB on Linux
_SHARD_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class BatchError(ValueError):
    """The clips cannot be listed (no input, two inputs with one name, a bad shard)."""


@dataclass(frozen=True, order=True)
class Clip:
    """One input: ``name`` (its outputs' stem, unique in a batch) and its ``source`` file.

    ``speaker``: a BEAT2 speaker id that belongs to the clip (its BEAT2 file id says so), or
    None.
    """

    name: str
    source: Path
    speaker: int | None = None


@dataclass(frozen=True)
class Shard:
    """The ``index``-th (1-based) of ``count`` shares of a batch."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/3"`` -> Shard(2, 3); BatchError unless 1 <= K <= N."""
        match = _SHARD_PATTERN.match(text)
        if not match:
            raise BatchError(f"a shard looks like K/N (for example 2/3), got {text!r}")
        index, count = int(match.group(1)), int(match.group(2))
        if not 1 <= index <= count:
            raise BatchError(f"shard {text}: K must be between 1 and N")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def take_shard(clips: Iterable[Clip], shard: Shard | None) -> list[Clip]:
    """The clips of ``shard``, sorted by name: every ``count``-th clip from the ``index``-th.

    Shares differ in size by at most one clip, and depend only on the set of clip names, so
    shards 1/N .. N/N run anywhere (a SLURM array, torchrun ranks, a CI matrix) cover every
    clip exactly once. Striding rather than cutting into blocks spreads the speakers (BEAT2
    ids start with the speaker) over the shards.
    """
    ordered = sorted(clips)
    if shard is None:
        return ordered
    return ordered[shard.index - 1 :: shard.count]


def find_clips(inputs: Sequence[Path], suffixes: Sequence[str]) -> list[Clip]:
    """Clips of the given files and folders (a folder gives its files ending in ``suffixes``,
    not recursively), sorted by name. BatchError when nothing is found or two inputs share a
    name (their outputs would collide)."""
    wanted = {suffix.lower() for suffix in suffixes}
    sources: list[Path] = []
    for path in inputs:
        if path.is_dir():
            sources.extend(
                sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in wanted)
            )
        else:
            sources.append(path)  # a missing or unreadable file fails as that clip, visibly
    if not sources:
        raise BatchError(
            f"no input files ({', '.join(sorted(wanted))}) in {', '.join(str(p) for p in inputs)}"
        )
    return unique_clips(Clip(source.stem, source) for source in sources)


def unique_clips(clips: Iterable[Clip]) -> list[Clip]:
    """``clips`` sorted by name; BatchError when two have one name."""
    by_name: dict[str, Clip] = {}
    for clip in clips:
        earlier = by_name.setdefault(clip.name, clip)
        if earlier is not clip and earlier.source != clip.source:
            raise BatchError(
                f"two inputs are named {clip.name!r} ({earlier.source} and "
                f"{clip.source}); their outputs would overwrite each other"
            )
    return sorted(by_name.values())


def beat2_clips(root: Path, split: str) -> list[Clip]:
    """The clips of a BEAT2 ``split`` (``wave16k/<id>.wav``), each with its speaker, sorted.

    A clip listed without its speech file stays in the list: it fails visibly when run.
    DatasetError when the folder is not BEAT2 or the split is empty.
    """
    speech = split_speech(root, split)
    if not speech:
        raise DatasetError(f"no {split} clips in {root / SPLIT_FILE}")
    return unique_clips(Clip(name, path, _speaker_of(name)) for name, path in speech.items())


def _speaker_of(clip_id: str) -> int | None:
    try:
        return speaker_id_from_clip_name(clip_id)
    except ValueError:
        return None


class ClipJob(Protocol):
    """What a batch does to each clip. Pickled to every worker: keep it small and plain."""

    def outputs(self, clip: Clip) -> list[Path]:
        """The files that exist once ``clip`` is done."""

    def setup(self) -> None:
        """Load what every clip needs (models). Called before every run(): it returns at once
        when they are loaded already."""

    def run(self, clip: Clip) -> str:
        """Write ``clip``'s outputs atomically; return a one-line summary. Raise on failure:
        the exception's message is the reason reported for the clip."""


@dataclass(frozen=True)
class ClipOutcome:
    """How one clip went, as a worker reports it (plain data, so it pickles)."""

    name: str
    ok: bool
    message: str  # the summary, or the reason it failed
    worker_pid: int
    worker_peak_rss_mb: float  # the worker's peak resident memory so far


@dataclass
class BatchReport:
    """Clips done now, skipped (done before), failed, and the workers' peak memory."""

    done: list[ClipOutcome] = field(default_factory=list)
    skipped: list[Clip] = field(default_factory=list)
    failed: list[ClipOutcome] = field(default_factory=list)
    not_run: list[Clip] = field(default_factory=list)  # left when the run was stopped
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """True when every clip is done (now or before)."""
        return not self.failed and not self.not_run and not self.interrupted

    def worker_peak_rss_mb(self) -> dict[int, float]:
        """{worker pid: its peak resident memory in MB} over the clips it ran."""
        peaks: dict[int, float] = {}
        for outcome in self.done + self.failed:
            peaks[outcome.worker_pid] = max(
                peaks.get(outcome.worker_pid, 0.0), outcome.worker_peak_rss_mb
            )
        return peaks


def default_workers(num_clips: int) -> int:
    """One worker per available core, no more than there are clips (at least one)."""
    return max(1, min(available_cpu_threads(), num_clips))


def threads_per_worker(workers: int) -> int:
    """The cores divided between the workers, at least one thread each."""
    return max(1, available_cpu_threads() // max(1, workers))


def pending_clips(job: ClipJob, clips: Iterable[Clip]) -> tuple[list[Clip], list[Clip]]:
    """(clips to run, clips already done: every output present)."""
    todo, done = [], []
    for clip in clips:
        (done if all(path.is_file() for path in job.outputs(clip)) else todo).append(clip)
    return todo, done


def run_batch(
    job: ClipJob, clips: Sequence[Clip], workers: int, progress: bool = True
) -> BatchReport:
    """Run ``job`` over the clips not done yet, on ``workers`` processes (1: this process).

    Every clip runs even when others fail; with ``progress``, a failure's reason is written
    above the bar as it happens. On Ctrl-C the clips in progress finish, the rest are left for
    a re-run. A worker that dies
    (killed, out of memory) stops the batch: the clips it did not finish are in ``not_run``.
    """
    todo, already = pending_clips(job, clips)
    report = BatchReport(skipped=already)
    if already:
        logger.info("%d of %d clips already done, skipped", len(already), len(clips))
    if not todo:
        return report
    workers = min(workers, len(todo))
    bar = _progress_bar(len(todo), progress)
    try:
        if workers <= 1:
            _run_here(job, todo, report, bar)
        else:
            _run_in_pool(job, todo, workers, report, bar)
    finally:
        bar.close()
    peaks = report.worker_peak_rss_mb()
    logger.info(
        "peak resident memory per worker: %s MB",
        ", ".join(f"{peak:.0f}" for peak in peaks.values()),
    )
    return report


def _progress_bar(total: int, enabled: bool) -> tqdm:
    from tqdm import tqdm

    return tqdm(total=total, unit="clip", disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def _record(outcome: ClipOutcome, report: BatchReport, bar: tqdm) -> None:
    if outcome.ok:
        report.done.append(outcome)
    else:
        report.failed.append(outcome)
        if not bar.disable:  # said now, above the bar; the caller lists failures at the end
            bar.write(f"failed: {outcome.name}: {outcome.message}", file=sys.stderr)
    bar.update(1)


def _run_here(job: ClipJob, todo: list[Clip], report: BatchReport, bar: tqdm) -> None:
    for position, clip in enumerate(todo):
        try:
            _record(_run_clip(job, clip), report, bar)
        except KeyboardInterrupt:
            report.interrupted = True
            report.not_run.extend(todo[position:])
            return


def _run_in_pool(
    job: ClipJob, todo: list[Clip], workers: int, report: BatchReport, bar: tqdm
) -> None:
    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(job,)
    )
    futures: dict[Future, Clip] = {executor.submit(_run_in_worker, clip): clip for clip in todo}
    pending = set(futures)
    try:
        while pending:
            try:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                if report.interrupted:
                    raise  # a second Ctrl-C: stop waiting for the clips in progress
                report.interrupted = True
                bar.write(
                    "interrupted: finishing the clips in progress (Ctrl-C again to stop now)",
                    file=sys.stderr,
                )
                for future in pending:
                    future.cancel()
                continue
            for future in finished:
                if future.cancelled():
                    report.not_run.append(futures[future])
                    continue
                try:
                    _record(future.result(), report, bar)
                except BrokenProcessPool:
                    report.not_run.append(futures[future])
    finally:
        executor.shutdown(wait=not report.interrupted, cancel_futures=True)
    if report.not_run and not report.interrupted:
        logger.error(
            "a worker process died (killed, or out of memory?): %d clips not run",
            len(report.not_run),
        )
    report.not_run.sort()


_worker_job: ClipJob | None = None


def _start_worker(job: ClipJob) -> None:
    """Pool initializer: keep the job; Ctrl-C is the parent's to handle (it lets the clips in
    progress finish)."""
    global _worker_job
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_job = job


def _run_in_worker(clip: Clip) -> ClipOutcome:
    if _worker_job is None:
        raise RuntimeError("the worker was not initialised")
    return _run_clip(_worker_job, clip)


def _run_clip(job: ClipJob, clip: Clip) -> ClipOutcome:
    """Run one clip; any exception becomes a failed outcome with its message."""
    try:
        job.setup()
        message, ok = job.run(clip), True
    except Exception as error:  # noqa: BLE001 - one clip's failure must not stop the batch
        logger.debug("clip %s failed", clip.name, exc_info=True)
        message, ok = str(error) or type(error).__name__, False
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _KIB
    return ClipOutcome(clip.name, ok, message, os.getpid(), round(peak_mb, 1))
