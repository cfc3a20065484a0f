"""``python -m semges live``: speech through the live generator, as on stage.

    python -m semges live SPEECH.wav --realtime -o motion.npz --report report.json
    python -m semges live --mic --duration 60 -o motion.npz
    python -m semges live SPEECH.wav --realtime -o motion.npz --vmc 127.0.0.1:39539

A file is played in pieces (``--piece-s 0.1:0.5``: random lengths between the two; one value:
one length), at real-time pace with ``--realtime`` (else as fast as it computes); ``--mic``
takes the default microphone instead (the ``sounddevice`` package) until ``--duration`` or
Ctrl-C. The motion is written as a BEAT2 ``.npz``, the measurements (:class:`StreamReport`)
as JSON; ``--vmc HOST[:PORT]`` also sends every frame to a VMC protocol receiver (an avatar
app: VSeeFace, Warudo, ...; :mod:`semges.live.vmc`), at 30 fps a step after it became final.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

from semges import layout
from semges.live.vmc import DEFAULT_PORT as DEFAULT_VMC_PORT
from semges.live.vmc import PacedVmcStream, VmcError, VmcSender
from semges.sampling import DEFAULT_TEMPERATURE
from semges.shipped_checkpoint import DEFAULT_CHECKPOINT_DIR
from semges.speakers import DEFAULT_SPEAKER

DEFAULT_PIECE_S = "0.1:0.5"
MIC_BLOCK_S: float = 0.1  # the microphone's pieces
MAX_PORT: int = 65535  # UDP ports are 16 bits; 0 is no port
LIVE_TORCH_THREADS: int = 1
"""torch threads for a live stream: its steps are small (one window of 64 frames), and one
thread measured faster than two on 2 cores (0.22 against 0.40 s of compute per second of
speech), with Whisper's encoder using the other core."""


class LiveCommandError(Exception):
    """A problem to report in one line."""


def add_live_parser(
    commands: argparse._SubParsersAction, speaker_type: object, max_duration_s: float
) -> None:
    live = commands.add_parser(
        "live",
        help="gestures while the speech arrives (a file at real-time pace, or the microphone)",
        description=__doc__.splitlines()[0],
    )
    source = live.add_mutually_exclusive_group(required=True)
    source.add_argument("speech", type=Path, nargs="?", metavar="SPEECH", help="speech audio")
    source.add_argument("--mic", action="store_true", help="the default microphone")
    live.add_argument("-o", "--output", type=Path, required=True, help="motion .npz to write")
    live.add_argument("--report", type=Path, help="write the measurements as JSON here")
    live.add_argument(
        "--realtime", action="store_true", help="play the file at real-time pace (as spoken)"
    )
    live.add_argument(
        "--piece-s",
        default=DEFAULT_PIECE_S,
        metavar="LOW[:HIGH]",
        help=f"lengths of the pieces a file is pushed in, seconds (default {DEFAULT_PIECE_S})",
    )
    live.add_argument(
        "--duration", type=float, default=None, help="with --mic: stop after this many seconds"
    )
    live.add_argument(
        "--vmc",
        metavar="HOST[:PORT]",
        help="also send every frame to this VMC protocol receiver (an avatar app; "
        f"port {DEFAULT_VMC_PORT} unless given)",
    )
    live.add_argument("--speaker", type=speaker_type, default=DEFAULT_SPEAKER, metavar="ID|NAME")
    live.add_argument("--seed", type=int, default=0)
    live.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE)
    live.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT_DIR, metavar="DIR")
    live.add_argument(
        "--max-duration",
        type=float,
        default=max_duration_s,
        metavar="SECONDS",
        help=f"refuse a longer file (default {max_duration_s:g} s)",
    )
    live.add_argument(
        "--no-words",
        action="store_true",
        help="no streaming word recognition: the gestures follow the audio alone",
    )
    live.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")


def piece_range(text: str) -> tuple[float, float]:
    try:
        values = [float(v) for v in text.split(":")]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or not 0 < values[0] <= values[-1]:
        raise LiveCommandError(f"--piece-s takes LOW or LOW:HIGH seconds > 0, got {text!r}")
    return values[0], values[-1]


def vmc_address(text: str) -> tuple[str, int]:
    """``HOST`` or ``HOST:PORT`` -> (host, port), the port :data:`DEFAULT_VMC_PORT` unless
    given."""
    host, colon, port = text.rpartition(":")
    if not colon:
        host, port = text, str(DEFAULT_VMC_PORT)
    if not host or not port.isdecimal() or not 0 < int(port) <= MAX_PORT:
        raise LiveCommandError(f"--vmc takes HOST or HOST:PORT (port 1-{MAX_PORT}), got {text!r}")
    return host, int(port)


def run_live(args: argparse.Namespace) -> int:
    """The ``live`` command; raises LiveCommandError (or AudioError) for bad input."""
    pieces_s = piece_range(args.piece_s)  # the settings first: the imports take seconds
    vmc = None if args.vmc is None else vmc_address(args.vmc)
    import torch

    from semges.export import export
    from semges.live.config import NoLiveModels
    from semges.live.generator import LiveGenerator
    from semges.live.stream import file_pieces, run_stream
    from semges.speech.audio import decode_audio

    torch.set_num_threads(LIVE_TORCH_THREADS)
    if args.output.suffix != ".npz":
        raise LiveCommandError(f"the output must be a .npz file, got {args.output}")
    if args.mic and args.realtime:
        raise LiveCommandError("--realtime is for a file: the microphone is real time already")
    if args.duration is not None and not args.mic:
        raise LiveCommandError("--duration is for --mic: a file plays to its end")
    samples = None
    if not args.mic:
        samples = decode_audio(args.speech, max_duration_s=args.max_duration).samples
    try:
        live = LiveGenerator.from_pretrained(
            args.checkpoint,
            speaker=args.speaker,
            seed=args.seed,
            temperature=args.temperature,
            words=not args.no_words,
            # a file played as fast as it computes waits for its words: repeatable frames
            wait_for_words=not (args.mic or args.realtime),
        )
    except (NoLiveModels, ValueError) as error:
        raise LiveCommandError(str(error)) from error
    if args.mic:
        pieces, realtime = _microphone_pieces(args.duration), True
        pieces_s = (MIC_BLOCK_S, MIC_BLOCK_S)
    else:
        pieces, realtime = file_pieces(samples, pieces_s, args.realtime), args.realtime
    if vmc is not None:
        print(f"sending the motion to the VMC receiver at {vmc[0]}:{vmc[1]}", file=sys.stderr)
    step_s = live.config.features.hop_frames / layout.FPS
    try:
        with (
            VmcSender(*vmc) if vmc is not None else nullcontext() as sender,
            PacedVmcStream(sender, step_s) if sender is not None else nullcontext() as paced,
        ):
            on_frames = None if paced is None else paced.push
            motion, report = run_stream(live, pieces, pieces_s, realtime, on_frames)
    except VmcError as error:
        raise LiveCommandError(str(error)) from error
    export(motion, "npz", args.output)
    if args.report is not None:
        args.report.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    print(
        f"{report.frames} frames ({report.audio_s:.1f} s) -> {args.output}; latency p50 "
        f"{report.latency_p50_s:.2f} s, p95 {report.latency_p95_s:.2f} s; compute "
        f"{report.compute_s_per_audio_s:.2f} s per second of speech"
        + (f"; {report.words['words']} words recognised" if live.recognizes_words else "")
    )
    return 0


def _microphone_pieces(duration_s: float | None) -> Iterator:
    """Pieces from the default input device at 16 kHz mono, until ``duration_s`` or Ctrl-C."""
    import queue
    import time

    import numpy as np

    from semges.live.stream import Piece
    from semges.speech.audio import SAMPLE_RATE

    try:
        import sounddevice
    except (ImportError, OSError) as error:
        raise LiveCommandError(
            f"--mic needs the sounddevice package and PortAudio ({error}): "
            "pip install sounddevice (Debian: apt install libportaudio2)"
        ) from error
    blocks: queue.Queue[np.ndarray] = queue.Queue()

    def arrived(data, frames, time_info, status) -> None:  # PortAudio's thread
        blocks.put(data[:, 0].copy())

    try:
        stream = sounddevice.InputStream(
            samplerate=SAMPLE_RATE,
            channels=1,
            dtype="float32",
            blocksize=round(MIC_BLOCK_S * SAMPLE_RATE),
            callback=arrived,
        )
    except Exception as error:  # PortAudioError: no device, busy device, unsupported rate
        raise LiveCommandError(f"cannot open the microphone: {error}") from error
    start = time.perf_counter()
    print("listening; Ctrl-C to stop", file=sys.stderr)
    with stream:
        try:
            while duration_s is None or time.perf_counter() - start < duration_s:
                block = blocks.get()
                yield Piece(block, time.perf_counter())
        except KeyboardInterrupt:
            return
