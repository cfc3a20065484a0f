"""Command line: render SMPL-X motion to a video (with speech), a still PNG, or a BVH file.

    python -m semges.render MOTION.npz [--audio SPEECH] -o VIDEO.mp4 [--size 720x480]
                            [--view upper|full] [--smplx-model PATH]
    python -m semges.render MOTION.npz --still FRAME -o STILL.png [--size ...] [--view ...]
    python -m semges.render MOTION.npz --bvh -o OUT.bvh [--bvh-scale 100]
    python -m semges.render MOTION.npz -o OUT.glb [--smplx-model PATH] [--max-faces N]  (glTF 2.0)
    python -m semges.render MOTION.npz -o OUT.vrma  (VRM Animation for any VRM character)
    python -m semges.render MOTION.npz ... | FOLDER [--audio SPEECH_FOLDER] -o OUT_FOLDER
                            [--bvh | --still F | --glb | --vrma] [--shard K/N] [--workers N]

Several motion files (or folders of them) make a batch: OUT_FOLDER/NAME.mp4 (.png, .bvh, .glb, .vrma)
per clip, one renderer per worker for all its clips, finished clips skipped on a re-run, a
failing clip named while the others go on, exit status 1 when any failed (130 on Ctrl-C: the
clips in progress finish, the same command finishes the rest); the batch plumbing is
:mod:`semges.batch_command`, shared with ``python -m semges generate``, and every file is
written by :func:`semges.export.export`.

Without the render extra (``pip install 'semges[render]'``) the command says so in one line.

Nothing heavy (torch, OpenGL, a body model) loads before the arguments are parsed: ``--help``
and usage errors answer at once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from semges import batch_command
from semges.batch import BatchError
from semges.export import ExportError, export
from semges.render.extra import RenderExtraMissing, check_render_extra
from semges.render.render_job import DRAWN_KINDS, RenderSettings

logger = logging.getLogger("semges.render")

EXIT_FAILURE: int = batch_command.EXIT_FAILED
_PROGRESS_STEPS: int = 10  # log progress about this many times per video


def parse_size(text: str) -> tuple[int, int]:
    """``--size`` -> (width, height), by the renderer's one size rule."""
    from semges.render.video_encoder import parse_frame_size

    try:
        return parse_frame_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def build_parser() -> argparse.ArgumentParser:
    from semges.render.bodies.smplx_body import SMPLX_DOWNLOAD_URL, SMPLX_FILE_NAME, SMPLX_MODEL_ENV
    from semges.render.framing import DEFAULT_VIEW, VIEWS
    from semges.render.video_encoder import DEFAULT_SIZE

    parser = argparse.ArgumentParser(
        prog="python -m semges.render",
        description="Render SMPL-X motion (a BEAT2-layout .npz at 30 fps) as an H.264 mp4 with "
        "the speech muxed as AAC, as a still PNG, or export it as BVH. Runs on CPU "
        "(OSMesa); uses EGL where an NVIDIA GPU is present.",
        epilog=f"Body: the wooden mannequin by default. For the real SMPL-X mesh, download "
        f"SMPL-X v1.1 ({SMPLX_FILE_NAME}) from {SMPLX_DOWNLOAD_URL} and pass "
        f"--smplx-model PATH or set {SMPLX_MODEL_ENV}=PATH.",
    )
    parser.add_argument(
        "motion",
        type=Path,
        nargs="+",
        help="SMPL-X motion .npz (poses, trans, betas, ...); several files or "
        "folders of them make a batch",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="output file: .mp4 video, .png still (--still), .bvh (--bvh) or "
        ".glb (the skinned body with the motion as a glTF animation), .vrma (VRM Animation: "
        "the motion for any VRM character); "
        "for a batch, the output folder (NAME.mp4, ... per clip)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--bvh", action="store_true", help="write a BVH file instead of a video")
    mode.add_argument(
        "--still",
        type=int,
        metavar="FRAME",
        help="write frame FRAME (0-based) as a PNG instead of a video",
    )
    mode.add_argument(
        "--glb",
        action="store_true",
        help="write glTF 2.0 (.glb) instead of a video (a single -o NAME.glb says so too)",
    )
    mode.add_argument(
        "--vrma",
        action="store_true",
        help="write a VRM Animation (.vrma) instead of a video: the motion for any VRM "
        "character (a single -o NAME.vrma says so too)",
    )
    parser.add_argument(
        "--audio",
        type=Path,
        metavar="SPEECH",
        help="speech to mux (wav, mp3, flac, ...: anything ffmpeg reads); padded "
        "with silence or cut to the motion's duration. For a batch, a "
        "folder holding NAME.wav (or .mp3, ...) per motion NAME.npz",
    )
    parser.add_argument(
        "--size",
        type=parse_size,
        default=DEFAULT_SIZE,
        metavar="WxH",
        help="picture size in pixels, even numbers (default: {}x{})".format(*DEFAULT_SIZE),
    )
    parser.add_argument(
        "--view",
        choices=sorted(VIEWS),
        default=DEFAULT_VIEW,
        help="upper: head to hips, hands always in frame; full: whole body "
        "on a floor (default: upper)",
    )
    parser.add_argument(
        "--smplx-model",
        type=Path,
        metavar="PATH",
        help=f"SMPL-X model file ({SMPLX_FILE_NAME}); default: "
        f"${SMPLX_MODEL_ENV} if set, else the mannequin",
    )
    parser.add_argument(
        "--bvh-scale",
        type=float,
        default=1.0,
        metavar="S",
        help="BVH lengths in metres times S (100 for centimetres; default 1)",
    )
    parser.add_argument(
        "--max-faces",
        type=int,
        metavar="N",
        help="a .glb's body simplified to at most N triangles, for viewers that draw on the "
        "CPU or on phones (default: the whole mesh)",
    )
    batch_command.add_batch_options(
        parser,
        shard_help="render only the K-th of N equal shares of the clips (by sorted name); "
        "makes a batch",
        workers_default=1,
        workers_help="worker processes, each with its own renderer (default 1: drawing "
        "already uses every core)",
        quiet_help="only print errors (and no progress bar for a batch)",
    )
    return parser


_BY_EXTENSION: tuple[str, ...] = ("glb", "vrma")  # a single -o NAME.<kind> picks the kind


def _kind(args: argparse.Namespace) -> str:
    """The output kind, one of semges.render.render_job.KINDS: the flag's, else a single
    output's ``.glb`` / ``.vrma`` extension, else a video."""
    if args.bvh:
        return "bvh"
    if args.still is not None:
        return "png"
    for kind in _BY_EXTENSION:
        if getattr(args, kind):
            return kind
    suffix = args.output.suffix.lower().lstrip(".")
    if suffix in _BY_EXTENSION and not args.batch:
        return suffix
    return "mp4"


def _check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.bvh_scale <= 0:
        parser.error("--bvh-scale must be positive")
    if args.max_faces is not None and args.max_faces < 1:
        parser.error("--max-faces must be positive")
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    args.batch = batch_command.is_batch(args.motion, args.shard)
    kind = _kind(args)
    if args.audio is not None and kind != "mp4":
        parser.error("--audio only applies to videos")
    if args.max_faces is not None and kind != "glb":
        parser.error("--max-faces only applies to .glb files")
    if args.batch:
        return
    args.motion = args.motion[0]
    if args.output.suffix.lower() != f".{kind}":
        alternative = ", .glb or .vrma" if kind == "mp4" else ""
        parser.error(f"the output must end in .{kind}{alternative} (got {args.output.name})")


def _settings(args: argparse.Namespace) -> RenderSettings:
    return RenderSettings(
        kind=_kind(args),
        size=args.size,
        view=args.view,
        body=None if args.smplx_model is None else str(args.smplx_model),
        still=args.still or 0,
        bvh_scale=args.bvh_scale,
        max_faces=args.max_faces,
        audio=args.audio,
    )


def run(args: argparse.Namespace) -> Path:
    """Do what the parsed arguments ask for one motion file; returns the written file."""
    from dataclasses import replace

    from semges.motion import load_motion

    motion = load_motion(args.motion)
    settings = _settings(args)
    options = settings.options(args.audio)
    if settings.kind not in DRAWN_KINDS:
        return export(motion, settings.kind, args.output, replace(options, body=settings.body))

    from semges.render.video_renderer import VideoRenderer

    step = max(1, motion.num_frames // _PROGRESS_STEPS)

    def progress(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            logger.info("rendered %d/%d frames", done, total)

    # body None: $SEMGES_SMPLX_MODEL or the mannequin
    with VideoRenderer(settings.body, size=args.size) as renderer:
        return export(
            motion,
            settings.kind,
            args.output,
            replace(options, renderer=renderer, progress=progress),
        )


def render_batch(args: argparse.Namespace) -> int:
    """Render every clip of the inputs (in this run's shard) into the -o folder."""
    from semges.batch import find_clips, take_shard
    from semges.render.render_job import RenderJob

    batch_command.check_output_folder(args.output)
    if args.audio is not None and not args.audio.is_dir():
        raise ValueError(f"--audio {args.audio} must be a folder of NAME.wav files for a batch")
    clips = take_shard(find_clips(args.motion, [".npz"]), args.shard)
    job = RenderJob(_settings(args), args.output)
    return batch_command.run_batch_command(
        job, clips, args.output, args.shard, args.workers, args.quiet
    )


def main(argv: list[str] | None = None) -> int:
    try:
        check_render_extra()
    except RenderExtraMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_arguments(parser, args)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    logging.getLogger("OpenGL").setLevel(logging.WARNING)  # its accelerate-module notice

    from semges.motion import MotionFileError
    from semges.render.bodies.smplx_body import SmplxModelError
    from semges.render.gl_platform import GLPlatformError, configure_headless_gl
    from semges.render.video_encoder import VideoEncodeError

    try:
        if _kind(args) in DRAWN_KINDS:
            configure_headless_gl()  # before anything imports OpenGL
        if args.batch:
            return render_batch(args)
        written = run(args)
    except (
        MotionFileError,
        SmplxModelError,
        VideoEncodeError,
        GLPlatformError,
        BatchError,
        ExportError,
        FileNotFoundError,
        ValueError,
        OSError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return batch_command.EXIT_INTERRUPTED
    if _kind(args) != "mp4":  # a video's renderer says so
        logger.info("wrote %s", written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
