"""Command line: ``python -m semges transcribe|generate SPEECH ...``.

``transcribe`` writes the timed words as JSON: ``[{"word": str, "start": s, "end": s}, ...]``.
``generate`` writes BEAT2-format SMPL-X motion (``.npz``, exactly round(duration * 30)
frames) and the words used beside it (``NAME.words.json``).

Bad input ends with a one-line ``error: ...`` on stderr and a non-zero exit status (1 for
unusable input or checkpoint, 2 for wrong usage), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from semges.audio import DEFAULT_MAX_DURATION_S, AudioError
from semges.sampling import DEFAULT_TEMPERATURE
from semges.speech import Word

logger = logging.getLogger(__name__)

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "assets" / "checkpoint"
"""The checkpoint shipped in the repository (``assets/checkpoint``)."""

EXIT_BAD_INPUT = 1


class CliError(Exception):
    """A problem to report to the user in one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m semges",
        description="SemGes co-speech gestures for SMPL-X: speech in, words and motion out.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    transcribe = commands.add_parser(
        "transcribe", help="timed words of a speech file (Whisper, or your text aligned)",
        description="Write the words of SPEECH with their start and end times in seconds.",
    )  # fmt: skip
    _add_speech_options(transcribe)
    transcribe.add_argument(
        "-o", "--output", type=Path, required=True, metavar="WORDS_JSON",
        help='where to write [{"word": ..., "start": s, "end": s}, ...]',
    )  # fmt: skip

    generate = commands.add_parser(
        "generate", help="SMPL-X gesture motion for a speech file",
        description="Generate SMPL-X motion for SPEECH and write it as a BEAT2 .npz "
        "(30 fps, exactly round(duration * 30) frames), with the words used in "
        "NAME.words.json beside it.",
    )  # fmt: skip
    _add_speech_options(generate)
    generate.add_argument(
        "-o", "--output", type=Path, required=True, metavar="MOTION_NPZ",
        help="where to write the motion (.npz, BEAT2 / EMAGE SMPL-X layout)",
    )  # fmt: skip
    generate.add_argument(
        "--speaker", type=int, default=2, metavar="N",
        help="BEAT2 speaker id whose style to use, 1-30 (default 2, scott)",
    )  # fmt: skip
    generate.add_argument(
        "--seed", type=int, default=0, metavar="N",
        help="random seed: picks the variation when --temperature > 0 (default 0)",
    )  # fmt: skip
    generate.add_argument(
        "--temperature", type=float, default=DEFAULT_TEMPERATURE, metavar="T",
        help="sampling temperature over the generator's motion-code probabilities: 0 takes "
        "the most likely gestures (deterministic, the seed is unused), 1 samples as the model "
        f"learned, above 1 is restless (default {DEFAULT_TEMPERATURE:g})",
    )  # fmt: skip
    generate.add_argument(
        "--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, metavar="DIR",
        help=f"pipeline folder saved with save_pretrained (default {DEFAULT_CHECKPOINT})",
    )  # fmt: skip
    return parser


def _add_speech_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "speech", type=Path, metavar="SPEECH",
        help="speech audio: wav, flac, mp3, ogg/opus, webm, m4a/aac, ...; any rate, mono or "
        "stereo",
    )  # fmt: skip
    text = parser.add_mutually_exclusive_group()
    text.add_argument(
        "--text", metavar="TEXT",
        help="what is said; aligned to the audio instead of recognising it with Whisper",
    )  # fmt: skip
    text.add_argument(
        "--text-file", type=Path, metavar="FILE",
        help="read the transcript from a UTF-8 text file (like --text)",
    )  # fmt: skip
    parser.add_argument(
        "--whisper-model", metavar="PATH",
        help="faster-whisper (CTranslate2) model folder (default: the bundled tiny.en)",
    )  # fmt: skip
    parser.add_argument(
        "--max-duration", type=float, default=DEFAULT_MAX_DURATION_S, metavar="SECONDS",
        help=f"refuse longer speech (default {DEFAULT_MAX_DURATION_S:g} s)",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int, default=0, metavar="N",
        help="CPU threads for Whisper (default 0: half the available cores, at least one)",
    )  # fmt: skip
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        text = _read_text(args)
        _check_output(args.output)
        if args.command == "transcribe":
            return _transcribe(args, text)
        return _generate(args, text)
    except (CliError, AudioError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


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


def _frontend(args: argparse.Namespace):
    from semges.frontend import FrontendConfig, SpeechFrontend

    config = FrontendConfig(
        whisper_model=args.whisper_model, cpu_threads=args.threads,
        max_duration_s=args.max_duration,
    )  # fmt: skip
    try:
        return SpeechFrontend(config)
    except FileNotFoundError as error:
        raise CliError(str(error)) from error


def _load_speech(args: argparse.Namespace) -> tuple:
    """Decode the speech before any model loads, so bad input fails fast."""
    from semges.audio import SAMPLE_RATE, load_audio

    if args.max_duration <= 0:
        raise CliError("--max-duration must be positive")
    return load_audio(args.speech, max_duration_s=args.max_duration), SAMPLE_RATE


def _transcribe(args: argparse.Namespace, text: str | None) -> int:
    speech = _load_speech(args)
    timed = _frontend(args).timed_words(speech, text)
    _warn_if_not_english(timed.language_note)
    _write_words(timed.words, args.output)
    print(f"{len(timed.words)} words -> {args.output}")
    return 0


def _generate(args: argparse.Namespace, text: str | None) -> int:
    from semges.motion import save_motion
    from semges.pipeline import SemGesPipeline
    from semges.serialization import CheckpointError

    if args.temperature < 0:
        raise CliError("--temperature must be >= 0")
    speech = _load_speech(args)
    if not (args.checkpoint / "pipeline.json").is_file():
        raise CliError(
            f"no semges checkpoint in {args.checkpoint}. Train the demo checkpoint with "
            "`python -m training.default_checkpoint`, or pass --checkpoint DIR with a folder "
            "written by SemGesPipeline.save_pretrained"
        )
    try:
        pipeline = SemGesPipeline.from_pretrained(args.checkpoint, frontend=_frontend(args))
    except (CheckpointError, OSError) as error:
        raise CliError(f"cannot load the checkpoint {args.checkpoint}: {error}") from error
    num_speakers = pipeline.generator.config.num_speakers
    if not 1 <= args.speaker <= num_speakers:
        raise CliError(f"--speaker must be a BEAT2 speaker id in 1..{num_speakers}")
    try:
        result = pipeline(
            speech, text=text, speaker=args.speaker, seed=args.seed,
            temperature=args.temperature,
        )  # fmt: skip
    except AudioError:
        raise
    except ValueError as error:  # speaker out of range, features that do not fit the model
        raise CliError(str(error)) from error
    _warn_if_not_english(result.features.language_note)
    if result.features.alignment_note:
        print(f"note: {result.features.alignment_note}", file=sys.stderr)
    save_motion(result.motion, args.output)
    words_path = words_path_for(args.output)
    _write_words(result.words, words_path)
    print(
        f"{result.motion.num_frames} frames ({result.motion.duration_s:.2f} s) -> {args.output}; "
        f"{len(result.words)} words -> {words_path}"
    )
    return 0


def _warn_if_not_english(language_note: str | None) -> None:
    """One ``warning: ...`` line on stderr when the speech does not sound like English."""
    if language_note:
        print(f"warning: {language_note}", file=sys.stderr)


def words_path_for(motion_path: Path) -> Path:
    """``motion.npz`` -> ``motion.words.json`` beside it."""
    return motion_path.with_name(f"{motion_path.stem}.words.json")


def _write_words(words: list[Word], path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ",\n".join(f"  {json.dumps(w.to_dict())}" for w in words)
        path.write_text(f"[\n{lines}\n]\n" if words else "[]\n")
    except OSError as error:
        raise CliError(f"cannot write {path}: {error}") from error
