"""Command line: ``python -m semges transcribe|generate|live SPEECH ...``.

``live`` plays speech through the live generator (:mod:`semges.live.command`).
``transcribe`` writes the timed words as JSON: ``[{"word": str, "start": s, "end": s}, ...]``.
``generate`` writes BEAT2-format SMPL-X motion (``.npz``, exactly round(duration * 30)
frames) and the words used beside it (``NAME.words.json``). Given several files, folders or a
BEAT2 split (``--data ROOT --split test``) it writes one of each per clip into an output folder,
loading the models once per worker process (:mod:`semges.batch`): finished clips are skipped
on a re-run, a failing clip is named and the others go on, and ``--shard K/N`` takes the K-th
of N shares so that many machines split a large set.

Bad input ends with a one-line ``error: ...`` on stderr and a non-zero exit status (1 for
unusable input or checkpoint, 2 for wrong usage), never a traceback. A batch exits with 1 when
any clip failed.

Nothing heavy is imported before the arguments are parsed: ``--help`` and usage errors answer
at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from semges.batch import AUDIO_SUFFIXES, BatchError, Clip
from semges.batch_command import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    add_batch_options,
    check_output_folder,
    is_batch,
    run_batch_command,
)
from semges.batch_generate import EXPORTS
from semges.beat2_layout import SPLITS, DatasetError
from semges.export import (
    EXPORT_KINDS,
    ExportError,
    ExportOptions,
    ExportUnavailable,
    check_available,
    export,
    words_path_for,
    write_words,
)
from semges.live.command import LiveCommandError, add_live_parser, run_live
from semges.sampling import DEFAULT_TEMPERATURE, check_seed, check_temperature
from semges.shipped_checkpoint import DEFAULT_CHECKPOINT_DIR
from semges.speakers import DEFAULT_SPEAKER, speaker_id
from semges.speech import Word
from semges.speech.audio import AudioError
from semges.speech.transcription import whisper_threads

if TYPE_CHECKING:
    from semges.speech.audio import Audio
    from semges.speech.frontend import FrontendConfig, SpeechFrontend

logger = logging.getLogger(__name__)

CLI_MAX_DURATION_S: float = 4 * 3600.0
"""Default limit on speech length for the command line (4 hours): features and motion are
computed in pieces, so length costs time, not much memory (see benchmarks/long_speech.md).
The web app keeps its own, shorter limit."""

EXIT_BAD_INPUT = EXIT_FAILED


class CliError(Exception):
    """A problem to report to the user in one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m semges",
        description="SemGes co-speech gestures for SMPL-X: speech in, words and motion out.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    transcribe = commands.add_parser(
        "transcribe",
        help="timed words of a speech file (Whisper, or your text aligned)",
        description="Write the words of SPEECH with their start and end times in seconds.",
    )
    _add_speech_options(transcribe)
    transcribe.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="WORDS_JSON",
        help='where to write [{"word": ..., "start": s, "end": s}, ...]',
    )

    generate = commands.add_parser(
        "generate",
        help="SMPL-X gesture motion for speech files",
        description="Generate SMPL-X motion for SPEECH and write it as a BEAT2 .npz "
        "(30 fps, exactly round(duration * 30) frames), with the words used in "
        "NAME.words.json beside it. With several SPEECH files, folders of them or --data, "
        "write NAME.npz and NAME.words.json per clip into the folder -o: the models load once "
        "per worker, clips already done are skipped (re-run to resume), a clip that fails is "
        "named and the others go on; the exit status is 1 when any failed.",
    )
    _add_speech_options(generate, several=True)
    generate.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="OUT",
        help="where to write the motion (.npz, BEAT2 / EMAGE SMPL-X layout); for several "
        "inputs, --data or --shard, the output folder",
    )
    generate.add_argument(
        "--speaker",
        type=_speaker_argument,
        default=None,
        metavar="ID|NAME",
        help=f"BEAT2 speaker whose style to use: an id 1-30 or a name such as scott (default "
        f"{DEFAULT_SPEAKER}, scott; with --data, each clip's own speaker)",
    )
    generate.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="random seed: picks the variation when --temperature > 0 (default 0)",
    )
    generate.add_argument(
        "--temperature",
        type=float,
        default=DEFAULT_TEMPERATURE,
        metavar="T",
        help="sampling temperature over the generator's motion-code probabilities: 0 takes "
        "the most likely gestures (deterministic, the seed is unused), 1 samples as the model "
        f"learned, above 1 is restless (default {DEFAULT_TEMPERATURE:g})",
    )
    generate.add_argument(
        "--checkpoint",
        type=Path,
        default=DEFAULT_CHECKPOINT_DIR,
        metavar="DIR",
        help=f"pipeline folder saved with save_pretrained (default {DEFAULT_CHECKPOINT_DIR})",
    )
    for kind in EXPORTS:
        generate.add_argument(
            f"--{kind}",
            action="store_true",
            help=f"also write the motion as NAME.{kind} ({EXPORT_KINDS[kind].description}; "
            "needs the render extra)",
        )
    _add_batch_options(generate)
    add_live_parser(commands, _speaker_argument, CLI_MAX_DURATION_S)
    return parser


def _add_batch_options(parser: argparse.ArgumentParser) -> None:
    batch = add_batch_options(
        parser,
        shard_help="run only the K-th of N equal shares of the clips (by sorted name), e.g. "
        "--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT with --array=1-N",
        workers_default=0,
        workers_help="worker processes, each loading the models once (default 0: one per "
        "available core, no more than there are clips); the cores are divided between them",
        quiet_help="no progress bar",
    )
    batch.add_argument(
        "--data",
        type=Path,
        metavar="ROOT",
        help="a BEAT2 language folder (wave16k/, train_test_split.csv): run the clips of --split",
    )
    batch.add_argument(
        "--split",
        choices=SPLITS,
        default="test",
        help="the BEAT2 split to run with --data (default test)",
    )


def _speaker_argument(text: str) -> int:
    """``--speaker``: a BEAT2 id ("2") or name ("scott") -> the id."""
    try:
        return speaker_id(int(text) if text.strip().isdigit() else text.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _add_speech_options(parser: argparse.ArgumentParser, several: bool = False) -> None:
    parser.add_argument(
        "speech",
        type=Path,
        metavar="SPEECH",
        nargs="*" if several else None,
        help="speech audio: wav, flac, mp3, ogg/opus, webm, m4a/aac, ...; any rate, mono or "
        "stereo" + ("; or folders of such files" if several else ""),
    )
    text = parser.add_mutually_exclusive_group()
    text.add_argument(
        "--text",
        metavar="TEXT",
        help="what is said; aligned to the audio instead of recognising it with Whisper",
    )
    text.add_argument(
        "--text-file",
        type=Path,
        metavar="FILE",
        help="read the transcript from a UTF-8 text file (like --text)",
    )
    parser.add_argument(
        "--whisper-model",
        metavar="PATH",
        help="faster-whisper (CTranslate2) model folder (default: the bundled tiny.en)",
    )
    parser.add_argument(
        "--max-duration",
        type=float,
        default=CLI_MAX_DURATION_S,
        metavar="SECONDS",
        help=f"refuse longer speech (default {CLI_MAX_DURATION_S:g} s)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        metavar="N",
        help="CPU threads for Whisper (default 0: half the available cores, at least one; in "
        "a batch, each worker's share of them)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    batch = args.command == "generate" and is_batch(
        args.speech, args.shard, more=args.data is not None
    )
    _check_usage(parser, args, batch)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "live":
            return run_live(args)
        if batch:
            return _generate_batch(args)
        text = _read_text(args)
        _check_output(args.output)
        if args.command == "transcribe":
            return _transcribe(args, text)
        return _generate(args, text)
    except (
        CliError,
        AudioError,
        BatchError,
        ExportError,
        ExportUnavailable,
        LiveCommandError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _check_usage(parser: argparse.ArgumentParser, args: argparse.Namespace, batch: bool) -> None:
    if args.command != "generate":
        return
    if args.data is None and not args.speech:
        parser.error("give SPEECH files or folders, or --data ROOT")
    if args.data is not None and args.speech:
        parser.error("give SPEECH files or --data ROOT, not both")
    if batch and (args.text is not None or args.text_file is not None):
        parser.error("--text and --text-file apply to one speech file")
    if args.workers < 0:
        parser.error("--workers must be >= 0")
    if not batch:
        args.speech = args.speech[0]


def _read_text(args: argparse.Namespace) -> str | None:
    if args.text_file is None:
        return args.text
    try:
        return args.text_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read the transcript {args.text_file}: {error}") from error


def _check_output(output: Path) -> None:
    if output.is_dir():
        raise CliError(f"{output} is a folder; give a file name")


def _frontend_config(
    args: argparse.Namespace, saved: FrontendConfig | None = None
) -> FrontendConfig:
    """``saved`` (a checkpoint's front-end, default: the bundled one) with the command line's
    run-time settings; ``--whisper-model`` replaces its Whisper (a checkpoint refuses it
    unless it was trained with that model)."""
    from semges.speech.frontend import FrontendConfig

    changes = {"cpu_threads": args.threads, "max_duration_s": args.max_duration}
    if args.whisper_model is not None:
        changes["whisper_model"] = args.whisper_model
    return dataclasses.replace(saved if saved is not None else FrontendConfig(), **changes)


def _saved_frontend_config(checkpoint: Path) -> FrontendConfig:
    from semges.pipeline import saved_frontend_config
    from semges.serialization import CheckpointError

    try:
        return saved_frontend_config(checkpoint)
    except CheckpointError as error:
        raise CliError(f"cannot load the checkpoint {checkpoint}: {error}") from error


def _frontend(args: argparse.Namespace, saved: FrontendConfig | None = None) -> SpeechFrontend:
    from semges.speech.frontend import SpeechFrontend

    config = _frontend_config(args, saved)
    try:
        return SpeechFrontend(config)
    except FileNotFoundError as error:
        raise CliError(str(error)) from error


def _load_speech(args: argparse.Namespace) -> Audio:
    """Decode the speech once, before any model loads, so bad input fails fast."""
    from semges.speech.audio import decode_audio

    if args.max_duration <= 0:
        raise CliError("--max-duration must be positive")
    return decode_audio(args.speech, max_duration_s=args.max_duration)


def _transcribe(args: argparse.Namespace, text: str | None) -> int:
    speech = _load_speech(args)
    timed = _frontend(args).timed_words(speech, text)
    _warn_if_not_english(timed.language_note)
    _write_words(timed.words, args.output)
    print(f"{len(timed.words)} words -> {args.output}")
    return 0


def _generate(args: argparse.Namespace, text: str | None) -> int:
    from semges.pipeline import SemGesPipeline
    from semges.serialization import CheckpointError

    _check_generation_settings(args)
    check_available(_exports(args))  # a missing extra says so before anything is computed
    speech = _load_speech(args)
    try:
        frontend = _frontend(args, _saved_frontend_config(args.checkpoint))
        pipeline = SemGesPipeline.from_pretrained(args.checkpoint, frontend=frontend)
    except (CheckpointError, OSError) as error:
        raise CliError(f"cannot load the checkpoint {args.checkpoint}: {error}") from error
    try:
        speaker = pipeline.check_speaker(DEFAULT_SPEAKER if args.speaker is None else args.speaker)
    except ValueError as error:
        raise CliError(f"--speaker: {error}") from error
    try:
        result = pipeline(
            speech,
            text=text,
            speaker=speaker,
            seed=args.seed,
            temperature=args.temperature,
        )
    except AudioError:
        raise
    except ValueError as error:  # speaker out of range, features that do not fit the model
        raise CliError(str(error)) from error
    _warn_if_not_english(result.features.language_note)
    if result.features.alignment_note:
        print(f"note: {result.features.alignment_note}", file=sys.stderr)
    export(result.motion, "npz", args.output)
    words_path = words_path_for(args.output)
    _write_words(result.words, words_path)
    print(
        f"{result.motion.num_frames} frames ({result.motion.duration_s:.2f} s) -> {args.output}; "
        f"{len(result.words)} words -> {words_path}"
    )
    for kind in _exports(args):
        path = export(
            result.motion,
            kind,
            args.output.with_suffix(EXPORT_KINDS[kind].suffix),
            ExportOptions(speech=args.speech),
        )
        print(f"{kind} -> {path}")
    return 0


def _exports(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(kind for kind in EXPORTS if getattr(args, kind))


def _check_generation_settings(args: argparse.Namespace) -> None:
    """What can be checked before any model loads: the sampling settings and the checkpoint."""
    try:
        check_temperature(args.temperature)
        check_seed(args.seed)
    except ValueError as error:
        raise CliError(str(error)) from error
    if not (args.checkpoint / "pipeline.json").is_file():
        raise CliError(
            f"no semges checkpoint in {args.checkpoint}. Train the demo checkpoint with "
            "`python -m training.default_checkpoint`, or pass --checkpoint DIR with a folder "
            "written by SemGesPipeline.save_pretrained"
        )


def _batch_clips(args: argparse.Namespace) -> list[Clip]:
    """The clips of the inputs or of the BEAT2 split, in this run's shard."""
    from semges.batch import beat2_clips, find_clips, take_shard

    try:
        if args.data is not None:
            clips = beat2_clips(args.data, args.split)
        else:
            clips = find_clips(args.speech, AUDIO_SUFFIXES)
    except (BatchError, DatasetError) as error:
        raise CliError(str(error)) from error
    return take_shard(clips, args.shard)


def _generate_batch(args: argparse.Namespace) -> int:
    from semges.batch import default_workers, threads_per_worker
    from semges.batch_generate import GenerateJob, GenerateSettings

    _check_generation_settings(args)
    check_available(_exports(args))
    if args.max_duration <= 0:
        raise CliError("--max-duration must be positive")
    check_output_folder(args.output)
    clips = _batch_clips(args)
    workers = args.workers or default_workers(len(clips))
    threads = threads_per_worker(workers)
    frontend = dataclasses.replace(
        _frontend_config(args, _saved_frontend_config(args.checkpoint)),
        cpu_threads=args.threads or whisper_threads(threads),
    )
    settings = GenerateSettings(
        checkpoint=args.checkpoint.resolve(),
        out_dir=args.output,
        frontend=frontend,
        speaker=args.speaker,
        seed=args.seed,
        temperature=args.temperature,
        torch_threads=threads,
        exports=_exports(args),
    )
    logger.info("%d clips, %d workers x %d threads", len(clips), workers, threads)
    return run_batch_command(
        GenerateJob(settings), clips, args.output, args.shard, workers, args.quiet
    )


def _warn_if_not_english(language_note: str | None) -> None:
    """One ``warning: ...`` line on stderr when the speech does not sound like English."""
    if language_note:
        print(f"warning: {language_note}", file=sys.stderr)


def _write_words(words: list[Word], path: Path) -> None:
    try:
        write_words(words, path)
    except OSError as error:
        raise CliError(f"cannot write {path}: {error}") from error
