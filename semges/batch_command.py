"""What both command lines (``python -m semges generate``, ``python -m semges.render``) share
for many clips: the ``--shard`` / ``--workers`` / ``-q`` options, when a call is a batch, the
output folder check, the run with its summary, and the exit statuses.

    report_status = run_batch_command(job, clips, args.output, args.shard, workers, args.quiet)

Exit statuses: 0 every clip done (now or before), 1 (:data:`EXIT_FAILED`) a clip failed or was
not run, 130 (:data:`EXIT_INTERRUPTED`) Ctrl-C: the clips in progress finished, a re-run of the
same command finishes the rest.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from semges.batch import BatchError, Clip, ClipJob, Shard, run_batch

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


def shard_argument(text: str) -> Shard:
    """``--shard K/N`` for argparse."""
    try:
        return Shard.parse(text)
    except BatchError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def add_batch_options(
    parser: argparse.ArgumentParser,
    shard_help: str,
    workers_default: int,
    workers_help: str,
    quiet_help: str,
) -> argparse._ArgumentGroup:
    """The "many clips" group with ``--shard``, ``--workers`` and ``-q``; returns the group,
    to which a command line adds its own batch options."""
    batch = parser.add_argument_group("many clips")
    batch.add_argument("--shard", type=shard_argument, metavar="K/N", help=shard_help)
    batch.add_argument(
        "--workers", type=int, default=workers_default, metavar="N", help=workers_help
    )
    batch.add_argument("-q", "--quiet", action="store_true", help=quiet_help)
    return batch


def is_batch(inputs: Sequence[Path], shard: Shard | None, more: bool = False) -> bool:
    """Several inputs, a folder, ``--shard`` (or ``more``: another reason the command line
    has, such as ``--data``): the output is a folder of per-clip files."""
    return more or shard is not None or len(inputs) != 1 or inputs[0].is_dir()


def check_output_folder(output: Path) -> None:
    """BatchError when ``output`` exists and is not a folder."""
    if output.exists() and not output.is_dir():
        raise BatchError(f"{output} is a file; give the output folder")


def run_batch_command(
    job: ClipJob,
    clips: Sequence[Clip],
    output: Path,
    shard: Shard | None,
    workers: int,
    quiet: bool,
) -> int:
    """Run ``job`` over ``clips`` into ``output``, print the summary line (stdout) and each
    failure (stderr); returns the exit status."""
    in_shard = f" (shard {shard})" if shard else ""
    if not clips:
        print(f"0 clips in this shard{in_shard}: nothing to do")
        return 0
    report = run_batch(job, clips, workers, progress=not quiet)
    print(
        f"{len(clips)} clips{in_shard} -> {output}: {len(report.done)} written, "
        f"{len(report.skipped)} already done, {len(report.failed)} failed"
        + (f", {len(report.not_run)} not run" if report.not_run else "")
    )
    for outcome in report.failed:
        print(f"failed: {outcome.name}: {outcome.message}", file=sys.stderr)
    if report.interrupted:
        print("interrupted: run the same command again to finish", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0 if report.ok else EXIT_FAILED
