"""The motion benchmark's contact sheets: generated above real for each held-out clip and the
time split, in both views, then the two sheets of :mod:`benchmarks.motion_drivers`."""

from __future__ import annotations

from pathlib import Path

from benchmarks import motion_drivers
from benchmarks.contact_sheets import SHEET_FRAME, contact_sheet
from benchmarks.motion_clips import REAL_CLIP, segment
from semges import layout
from semges.motion import MotionClip
from semges.render.framing import VIEWS

SHEET_VIEWS = tuple(VIEWS)  # upper, full


def draw_sheets(
    out: Path,
    generated: dict[str, MotionClip],
    real: MotionClip,
    split_motion: MotionClip | None,
    split_start: int,
    seeded: dict[tuple[str, int], MotionClip],
) -> tuple[list[Path], str]:
    """Every contact sheet, the two of :func:`benchmarks.motion_drivers.draw_sheets` last;
    returns their paths and the GL platform used."""
    from semges.render.video_renderer import VideoRenderer  # after configure_headless_gl

    sheets = []
    with VideoRenderer("mannequin", size=SHEET_FRAME) as renderer:
        for view in SHEET_VIEWS:
            for clip, motion in generated.items():
                name = clip.removeprefix("2_scott_")
                sheets.append(
                    contact_sheet(
                        renderer,
                        {"generated": motion, "real 0_1_1": real},
                        view,
                        f"{name} ({view}): generated for {name} vs real {REAL_CLIP}, same times",
                        out / "motion_quality" / f"{name}_{view}.png",
                    )
                )
            if split_motion is not None:
                sheets.append(
                    contact_sheet(
                        renderer,
                        {
                            "generated": split_motion,
                            "real": segment(real, split_start, real.num_frames),
                        },
                        view,
                        f"time split ({view}): last 25 % of {REAL_CLIP}, generated vs real",
                        out / "motion_quality" / f"time_split_{view}.png",
                        split_start / layout.FPS,
                    )
                )
        sheets += motion_drivers.draw_sheets(renderer, seeded, out / "motion_quality")
    return sheets, renderer.gl_platform
