"""Command line: render SMPL-X motion to a video (with speech), a still PNG, or a BVH file.

    python -m render MOTION.npz [--audio SPEECH] -o VIDEO.mp4 [--size 720x480] [--view upper|full]
                                [--smplx-model PATH]
    python -m render MOTION.npz --still FRAME -o STILL.png [--size ...] [--view ...]
    python -m render MOTION.npz --bvh -o OUT.bvh [--bvh-scale 100]
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from semges.atomic_files import atomic_output

logger = logging.getLogger("render")

EXIT_FAILURE: int = 1
EXIT_USAGE: int = 2
_SIZE_PATTERN = re.compile(r"^(\d+)[xX](\d+)$")
_PROGRESS_STEPS: int = 10  # log progress about this many times per video


def parse_size(text: str) -> tuple[int, int]:
    """'720x480' -> (720, 480); both even and positive (H.264 with yuv420p needs even)."""
    match = _SIZE_PATTERN.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"size must look like 720x480, got {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise argparse.ArgumentTypeError(f"width and height must be even and positive: {text}")
    return width, height


def build_parser() -> argparse.ArgumentParser:
    from render.bodies.smplx_body import SMPLX_DOWNLOAD_URL, SMPLX_FILE_NAME, SMPLX_MODEL_ENV
    from render.framing import VIEWS

    parser = argparse.ArgumentParser(
        prog="python -m render",
        description="Render SMPL-X motion (a BEAT2-layout .npz at 30 fps) as an H.264 mp4 with "
                    "the speech muxed as AAC, as a still PNG, or export it as BVH. Runs on CPU "
                    "(OSMesa); uses EGL where an NVIDIA GPU is present.",
        epilog=f"Body: the wooden mannequin by default. For the real SMPL-X mesh, download "
               f"SMPL-X v1.1 ({SMPLX_FILE_NAME}) from {SMPLX_DOWNLOAD_URL} and pass "
               f"--smplx-model PATH or set {SMPLX_MODEL_ENV}=PATH.",
    )
    parser.add_argument("motion", type=Path, help="SMPL-X motion .npz (poses, trans, betas, ...)")
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="output file: .mp4 video, .png still (--still) or .bvh (--bvh)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--bvh", action="store_true", help="write a BVH file instead of a video")
    mode.add_argument("--still", type=int, metavar="FRAME",
                      help="write frame FRAME (0-based) as a PNG instead of a video")
    parser.add_argument("--audio", type=Path, metavar="SPEECH",
                        help="speech to mux (wav, mp3, flac, ...: anything ffmpeg reads); padded "
                             "with silence or cut to the motion's duration")
    parser.add_argument("--size", type=parse_size, default=(720, 480), metavar="WxH",
                        help="picture size in pixels, even numbers (default: 720x480)")
    parser.add_argument("--view", choices=sorted(VIEWS), default="upper",
                        help="upper: head to hips, hands always in frame; full: whole body "
                             "on a floor (default: upper)")
    parser.add_argument("--smplx-model", type=Path, metavar="PATH",
                        help=f"SMPL-X model file ({SMPLX_FILE_NAME}); default: "
                             f"${SMPLX_MODEL_ENV} if set, else the mannequin")
    parser.add_argument("--bvh-scale", type=float, default=1.0, metavar="S",
                        help="BVH lengths in metres times S (100 for centimetres; default 1)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only print errors")
    return parser


def _check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    suffix = args.output.suffix.lower()
    expected = ".bvh" if args.bvh else ".png" if args.still is not None else ".mp4"
    if suffix != expected:
        parser.error(f"the output must end in {expected} (got {args.output.name})")
    if args.audio is not None and (args.bvh or args.still is not None):
        parser.error("--audio only applies to videos")
    if args.bvh_scale <= 0:
        parser.error("--bvh-scale must be positive")


def _write_png(image: object, path: Path) -> None:
    from PIL import Image

    with atomic_output(path) as partial:
        Image.fromarray(image).save(partial, format="PNG")


def run(args: argparse.Namespace) -> Path:
    """Do what the parsed arguments ask; returns the written file."""
    from semges.motion import load_motion

    motion = load_motion(args.motion)
    if args.bvh:
        from render.bvh import write_bvh

        return write_bvh(motion, args.output, scale=args.bvh_scale)

    from render.pipeline import VideoRenderer

    body = args.smplx_model  # None: $SEMGES_SMPLX_MODEL or the mannequin
    with VideoRenderer(body, size=args.size) as renderer:
        if args.still is not None:
            if not 0 <= args.still < motion.num_frames:
                raise ValueError(f"--still {args.still} is outside the motion's "
                                 f"{motion.num_frames} frames (0..{motion.num_frames - 1})")
            _write_png(renderer.render_still(motion, args.still, args.view), args.output)
            return args.output
        step = max(1, motion.num_frames // _PROGRESS_STEPS)

        def progress(done: int, total: int) -> None:
            if done % step == 0 or done == total:
                logger.info("rendered %d/%d frames", done, total)

        return renderer.render_video(motion, args.output, args.audio, args.view, progress)


def main(argv: list[str] | None = None) -> int:
    from render.bodies.smplx_body import SmplxModelError
    from render.gl_platform import GLPlatformError, configure_headless_gl
    from render.video import VideoEncodeError
    from semges.motion import MotionFileError

    parser = build_parser()
    args = parser.parse_args(argv)
    _check_arguments(parser, args)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(message)s")
    logging.getLogger("OpenGL").setLevel(logging.WARNING)  # its accelerate-module notice
    try:
        if not args.bvh:
            configure_headless_gl()  # before anything imports OpenGL
        written = run(args)
    except (MotionFileError, SmplxModelError, VideoEncodeError, GLPlatformError,
            FileNotFoundError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILURE
    if args.bvh or args.still is not None:  # a video's renderer says so, with its frame count
        logger.info("wrote %s", written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
