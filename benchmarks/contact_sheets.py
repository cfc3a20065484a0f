"""Contact sheets: frames of several clips every half second, one camera for all, in a PNG.

Used by ``benchmarks/motion_quality.py`` to put generated motion above real motion, so that a
person can see at a glance whether the body moves like the real speaker.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semges import layout
from semges.motion import MotionClip

if TYPE_CHECKING:
    from semges.render.video_renderer import VideoRenderer

SHEET_STEP_S = 0.5
SHEET_SPAN_S = 12.0
SHEET_COLUMNS = 12
SHEET_FRAME = (160, 120)  # width, height of one frame in pixels
SHEET_LABEL_WIDTH = 78
SHEET_TEXT_HEIGHT = 16


def centred(motion: MotionClip, frames: np.ndarray) -> MotionClip:
    """The chosen frames, translation minus its mean, so both clips share one camera."""
    trans = motion.trans[frames]
    return MotionClip(
        motion.poses[frames],
        trans - trans.mean(axis=0),
        motion.betas,
        motion.expressions[frames],
        motion.fps,
    )


def contact_sheet(
    renderer: VideoRenderer,
    rows: dict[str, MotionClip],
    view: str,
    title: str,
    path: Path,
    start_s: float = 0.0,
) -> Path:
    """A PNG: for every SHEET_STEP_S of the first SHEET_SPAN_S, one frame of every clip in
    ``rows`` (label -> clip), in blocks of SHEET_COLUMNS times, one camera for all. Times are
    labelled from ``start_s`` (the clips' first frame in their source)."""
    from PIL import Image, ImageDraw, ImageFont

    length = min(c.num_frames for c in rows.values())
    step = round(SHEET_STEP_S * layout.FPS)
    frames = np.arange(0, min(length, round(SHEET_SPAN_S * layout.FPS)), step)
    shown = {label: centred(clip, frames) for label, clip in rows.items()}
    everything = MotionClip(
        np.concatenate([c.poses for c in shown.values()]),
        np.concatenate([c.trans for c in shown.values()]),
    )
    framing = renderer.frame(everything, view)
    images = {
        label: list(renderer.render_frames(clip, view, framing=framing))
        for label, clip in shown.items()
    }
    width, height = SHEET_FRAME
    blocks = -(-len(frames) // SHEET_COLUMNS)
    block_height = SHEET_TEXT_HEIGHT + len(rows) * height
    sheet = Image.new(
        "RGB",
        (SHEET_LABEL_WIDTH + SHEET_COLUMNS * width, SHEET_TEXT_HEIGHT + blocks * block_height),
        "white",
    )
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=12)
    draw.text((4, 1), title, fill="black", font=font)
    for index, frame in enumerate(frames):
        block, column = divmod(index, SHEET_COLUMNS)
        x = SHEET_LABEL_WIDTH + column * width
        top = SHEET_TEXT_HEIGHT + block * block_height
        label = f"{start_s + frame / layout.FPS:.1f} s"
        draw.text((x + 4, top + 1), label, fill="black", font=font)
        for row, label in enumerate(rows):
            y = top + SHEET_TEXT_HEIGHT + row * height
            sheet.paste(Image.fromarray(images[label][index]), (x, y))
            if column == 0:
                draw.text((4, y + height // 2 - 6), label, fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, format="PNG", optimize=True)
    return path
