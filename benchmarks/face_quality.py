"""The face rows of the motion benchmark: generated jaw and expressions against the real clip's.

Called by :mod:`benchmarks.motion_quality` with the motion it already generated. Statistics
come from :mod:`semges.face_statistics`; the mouth opening is the jaw's opening rotation
(degrees), the loudness the RMS of the speech around each frame.

- held-out speech: the correlation of mouth opening with loudness (beside the real clip's
  own), jaw-opening and expression std against the real clip's;
- 10 s of digital silence between two pieces of speech: how far the mouth stays open and how
  much the face moves there, against speech;
- time split (a face trained on the first 75 % of the real clip generating the last 25 %):
  expression and jaw-opening error frame by frame, against always answering the mean face of
  the first 75 %, and the loudness correlation there.
Also draws stills of the generated mouth open and closed (``face_open_closed.png``) and the
jaw and expression curves over the time split (``face_time_split_curves.png``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semges import face_statistics as fs
from semges import layout
from semges.locomotion import frames_to_nearest_word
from semges.motion import MotionClip

if TYPE_CHECKING:
    from benchmarks.motion_quality import Target
    from semges.render.video_renderer import VideoRenderer

CORRELATION_TOLERANCE = 0.1  # the issue: within 0.1 of the real clip's correlation
STD_RATIO_TOLERANCE = 0.5  # the issue: between 0.5x and 1.5x the real std
SPEAKING_PERCENTILE = 10.0  # "closed": below the real mouth's 10th percentile in speech
STILL_RATIO = 0.1  # face speed in silence / in speech
STILL_CROP_PX = 96  # half size of the crop around the mouth in each still
STILL_SCALE = 2  # each crop shown this many times larger
STILL_SIZE = (720, 720)  # frame the stills are cut from (upper view), pixels


def _rows(target_class: type[Target]) -> dict[str, Target]:
    return {"correlation": target_class("within", CORRELATION_TOLERANCE),
            "std": target_class("ratio_within", STD_RATIO_TOLERANCE),
            "still": target_class("value_max", STILL_RATIO),
            "error": target_class("ratio_max", 1.0)}


def real_face_reference(real: MotionClip, loudness: np.ndarray, word_mask: np.ndarray) -> dict:
    """The real clip's face statistics: loudness correlation, stds, closed-mouth level."""
    opening = fs.mouth_opening_degrees(real.poses)
    return {
        "loudness_correlation": fs.correlation(opening, loudness),
        "jaw_opening_std_deg": float(opening.std()),
        "expression_std": fs.expression_std(real.expressions),
        "jaw_opening_mean_deg": float(opening.mean()),
        "speaking_opening_p10_deg": float(np.percentile(opening[word_mask], SPEAKING_PERCENTILE)),
        "pause_opening_mean_deg": float(opening[frames_to_nearest_word(word_mask)
                                                >= layout.FPS // 2].mean()),
    }


def face_rows(summary_row, target_class: type[Target], reference: dict,
              held_out: dict[str, tuple[MotionClip, np.ndarray]],
              silence: tuple[MotionClip, np.ndarray, np.ndarray],
              split: tuple[MotionClip, MotionClip, np.ndarray, float, np.ndarray] | None
              ) -> dict:
    """Summary rows (``summary_row(key, label, real, values, target)`` of the benchmark).

    held_out: clip -> (generated motion, loudness (T,)); silence: (motion, silent frames (T,)
    bool, word frames (T,) bool); split: (generated tail, real tail, the real first 75 %'s
    mean expressions (E,) and mean opening (deg), the tail's loudness (T,)) or None when the
    split pipeline has no face.
    """
    targets = _rows(target_class)
    openings = {c: fs.mouth_opening_degrees(m.poses) for c, (m, _) in held_out.items()}
    held = [
        summary_row("face_loudness_correlation", "mouth opening / loudness correlation",
                    reference["loudness_correlation"],
                    {c: fs.correlation(openings[c], loud) for c, (_, loud) in held_out.items()},
                    targets["correlation"]),
        summary_row("face_jaw_opening_std_deg", "jaw opening std (deg)",
                    reference["jaw_opening_std_deg"],
                    {c: float(o.std()) for c, o in openings.items()}, targets["std"]),
        summary_row("face_expression_std", "expression std (mean over the 100)",
                    reference["expression_std"],
                    {c: fs.expression_std(m.expressions) for c, (m, _) in held_out.items()},
                    targets["std"]),
        summary_row("face_jaw_opening_mean_deg", "jaw opening mean (deg)",
                    reference["jaw_opening_mean_deg"],
                    {c: float(o.mean()) for c, o in openings.items()}, None),
    ]
    motion, silent, words = silence
    opening = fs.mouth_opening_degrees(motion.poses)
    speed = np.abs(np.diff(opening)) * layout.FPS
    expression_speed = fs.expression_speed(motion.expressions)
    in_silence, in_speech = silent[1:] & silent[:-1], words[1:] & words[:-1]
    closed = target_class("value_max", round(reference["speaking_opening_p10_deg"], 2))
    quiet = [
        summary_row("face_silence_opening_deg", "mouth opening in 10 s digital silence, mean "
                    "(deg; real: the mean in the clip's pauses)",
                    reference["pause_opening_mean_deg"],
                    {"speech_silence_speech": float(opening[silent].mean())}, closed),
        summary_row("face_silence_opening_max_deg", "mouth opening in 10 s digital silence, max "
                    "(deg)", float("nan"), {"speech_silence_speech": float(opening[silent].max())},
                    closed),
        summary_row("face_silence_jaw_speed_ratio", "jaw speed in silence / in speech",
                    float("nan"), {"speech_silence_speech": float(
                        speed[in_silence].mean() / speed[in_speech].mean())}, targets["still"]),
        summary_row("face_silence_expression_speed_ratio", "expression speed in silence / in "
                    "speech", float("nan"), {"speech_silence_speech": float(
                        expression_speed[in_silence].mean() / expression_speed[in_speech].mean())},
                    targets["still"]),
    ]
    result = {"held_out": held, "silence": quiet, "reference": reference,
              "closed_bound_note": (
                  f"closed: below {reference['speaking_opening_p10_deg']:.2f} deg, the real "
                  f"mouth's {SPEAKING_PERCENTILE:g}th percentile while speaking")}
    if split is None:
        result["time_split"] = None
        return result
    generated, real_tail, first_mean_expressions, first_mean_opening, loudness = split
    real_opening = fs.mouth_opening_degrees(real_tail.poses)
    gen_opening = fs.mouth_opening_degrees(generated.poses)
    constant = np.broadcast_to(first_mean_expressions, real_tail.expressions.shape)
    result["time_split"] = [
        summary_row("face_split_expression_error", "expression error, mean abs(gen - real) "
                    "(real column: the first 75 %'s mean face)",
                    fs.expression_error(constant, real_tail.expressions),
                    {"generated": fs.expression_error(generated.expressions,
                                                      real_tail.expressions)}, targets["error"]),
        summary_row("face_split_jaw_error_deg", "jaw opening error, mean abs(gen - real) "
                    "(deg; real column: the first 75 %'s mean opening)",
                    float(np.abs(first_mean_opening - real_opening).mean()),
                    {"generated": float(np.abs(gen_opening - real_opening).mean())},
                    targets["error"]),
        summary_row("face_split_loudness_correlation", "mouth opening / loudness correlation",
                    fs.correlation(real_opening, loudness),
                    {"generated": fs.correlation(gen_opening, loudness)}, targets["correlation"]),
        summary_row("face_split_opening_correlation", "generated / real mouth opening "
                    "correlation", float("nan"),
                    {"generated": fs.correlation(gen_opening, real_opening)}, None),
        summary_row("face_split_jaw_opening_std_deg", "jaw opening std (deg)",
                    float(real_opening.std()), {"generated": float(gen_opening.std())},
                    targets["std"]),
        summary_row("face_split_expression_std", "expression std", fs.expression_std(
            real_tail.expressions), {"generated": fs.expression_std(generated.expressions)},
            targets["std"]),
    ]
    return result


def open_and_closed_stills(renderer: VideoRenderer, motion: MotionClip, silent: np.ndarray,
                           out: Path) -> tuple[Path, dict[str, float]]:
    """Crops around the mouth of the frame where the generated mouth is widest open (in speech)
    and of the middle of the silence, side by side; returns the path and the two openings."""
    from PIL import Image, ImageDraw

    from semges.render.framing import project

    opening = fs.mouth_opening_degrees(motion.poses)
    speaking = np.where(silent, -np.inf, opening)
    frames = {"open": int(np.argmax(speaking)),
              "closed": int(np.flatnonzero(silent)[silent.sum() // 2])}
    framing = renderer.frame(motion, "upper")
    body = renderer.body
    crops = []
    for name, frame in frames.items():
        image = renderer.render_still(motion, frame, "upper")
        vertices = body.pose(motion, frame, frame + 1).vertices[0]
        mouth = vertices[body.dominant_joint == layout.JOINT_NAMES.index("head")]
        if getattr(body, "mouth", None) is not None:
            mouth = vertices[-body.mouth.num_vertices:]
        ndc = project(mouth.mean(axis=0, keepdims=True), framing.camera)[0]
        height, width = image.shape[:2]
        x = int(round((ndc[0] + 1) / 2 * width))
        y = int(round((1 - ndc[1]) / 2 * height))
        box = (x - STILL_CROP_PX, y - STILL_CROP_PX, x + STILL_CROP_PX, y + STILL_CROP_PX)
        crop = Image.fromarray(image).crop(box).resize(
            (2 * STILL_CROP_PX * STILL_SCALE,) * 2, Image.LANCZOS)
        ImageDraw.Draw(crop).text((8, 8), f"{name}: frame {frame}, jaw {opening[frame]:.2f} deg",
                                  fill=(0, 0, 0))
        crops.append(crop)
    sheet = Image.new("RGB", (sum(c.width for c in crops), crops[0].height), (255, 255, 255))
    for index, crop in enumerate(crops):
        sheet.paste(crop, (index * crop.width, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out, {name: float(opening[frame]) for name, frame in frames.items()}


CURVE_SIZE = (1400, 140)  # pixels per panel
CURVE_EXPRESSIONS = (0, 3)  # two of the coefficients that move most with speech
REAL_RGB, GENERATED_RGB, LOUDNESS_RGB = (0, 0, 0), (214, 39, 40), (31, 119, 180)


def split_curves(generated: MotionClip, real: MotionClip, loudness: np.ndarray,
                 out: Path) -> Path:
    """Panels over the time split's frames, real in black and generated in red: jaw opening,
    two expression coefficients, then the speech loudness (blue). Each panel scaled to fit."""
    from PIL import Image, ImageDraw

    width, height = CURVE_SIZE
    panels = [("jaw opening (deg)", [fs.mouth_opening_degrees(real.poses),
                                     fs.mouth_opening_degrees(generated.poses)])]
    panels += [(f"expression {k}", [real.expressions[:, k], generated.expressions[:, k]])
               for k in CURVE_EXPRESSIONS]
    panels.append(("loudness (RMS)", [loudness]))
    sheet = Image.new("RGB", (width, height * len(panels)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for row, (label, series) in enumerate(panels):
        values = np.concatenate(series)
        low, high = float(values.min()), float(values.max())
        top = row * height
        colors = [LOUDNESS_RGB] if len(series) == 1 else [REAL_RGB, GENERATED_RGB]
        for curve, color in zip(series, colors):
            xs = np.linspace(0, width - 1, curve.shape[0])
            ys = top + height - 4 - (curve - low) / max(high - low, 1e-9) * (height - 20)
            draw.line(list(zip(xs.tolist(), ys.tolist())), fill=color, width=1)
        draw.text((6, top + 2), f"{label}: real black, generated red" if len(series) > 1
                  else label, fill=(0, 0, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
