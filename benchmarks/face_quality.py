"""The face rows of the motion benchmark: generated jaw and expressions against the real clip's.

Called by :mod:`benchmarks.motion_quality` with the motion it already generated
(:func:`face_results`); :func:`face_markdown` is the report's face section. Statistics
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

from benchmarks.motion_clips import REAL_CLIP, segment, word_frames
from benchmarks.motion_tables import (
    SINGLE_TABLE_HEADER,
    Target,
    held_out_table,
    single_line,
    summary_row,
)
from semges import face_statistics as fs
from semges import layout
from semges.activity_envelope import frames_to_nearest_word
from semges.motion import MotionClip
from semges.speech import Word
from semges.speech.audio import SAMPLE_RATE

if TYPE_CHECKING:
    from semges.render.video_renderer import VideoRenderer
    from semges.speech.frontend import SpeechFrontend

CORRELATION_TOLERANCE = 0.1  # the issue: within 0.1 of the real clip's correlation
STD_RATIO_TOLERANCE = 0.5  # the issue: between 0.5x and 1.5x the real std
SPEAKING_PERCENTILE = 10.0  # "closed": below the real mouth's 10th percentile in speech
STILL_RATIO = 0.1  # face speed in silence / in speech
STILL_CROP_PX = 96  # half size of the crop around the mouth in each still
STILL_SCALE = 2  # each crop shown this many times larger
STILL_SIZE = (720, 720)  # frame the stills are cut from (upper view), pixels


TARGETS = {
    "correlation": Target("within", CORRELATION_TOLERANCE),
    "std": Target("ratio_within", STD_RATIO_TOLERANCE),
    "still": Target("value_max", STILL_RATIO),
    "error": Target("ratio_max", 1.0),
}


def real_face_reference(real: MotionClip, loudness: np.ndarray, word_mask: np.ndarray) -> dict:
    """The real clip's face statistics: loudness correlation, stds, closed-mouth level."""
    opening = fs.mouth_opening_degrees(real.poses)
    return {
        "loudness_correlation": fs.correlation(opening, loudness),
        "jaw_opening_std_deg": float(opening.std()),
        "expression_std": fs.expression_std(real.expressions),
        "jaw_opening_mean_deg": float(opening.mean()),
        "speaking_opening_p10_deg": float(np.percentile(opening[word_mask], SPEAKING_PERCENTILE)),
        "pause_opening_mean_deg": float(
            opening[frames_to_nearest_word(word_mask) >= layout.FPS // 2].mean()
        ),
    }


def face_rows(
    reference: dict,
    held_out: dict[str, tuple[MotionClip, np.ndarray]],
    silence: tuple[MotionClip, np.ndarray, np.ndarray],
    split: tuple[MotionClip, MotionClip, np.ndarray, float, np.ndarray] | None,
) -> dict:
    """Summary rows (:func:`benchmarks.motion_tables.summary_row`).

    held_out: clip -> (generated motion, loudness (T,)); silence: (motion, silent frames (T,)
    bool, word frames (T,) bool); split: (generated tail, real tail, the real first 75 %'s
    mean expressions (E,) and mean opening (deg), the tail's loudness (T,)) or None when the
    split pipeline has no face.
    """
    openings = {c: fs.mouth_opening_degrees(m.poses) for c, (m, _) in held_out.items()}
    held = [
        summary_row(
            "face_loudness_correlation",
            "mouth opening / loudness correlation",
            reference["loudness_correlation"],
            {c: fs.correlation(openings[c], loud) for c, (_, loud) in held_out.items()},
            TARGETS["correlation"],
        ),
        summary_row(
            "face_jaw_opening_std_deg",
            "jaw opening std (deg)",
            reference["jaw_opening_std_deg"],
            {c: float(o.std()) for c, o in openings.items()},
            TARGETS["std"],
        ),
        summary_row(
            "face_expression_std",
            "expression std (mean over the 100)",
            reference["expression_std"],
            {c: fs.expression_std(m.expressions) for c, (m, _) in held_out.items()},
            TARGETS["std"],
        ),
        summary_row(
            "face_jaw_opening_mean_deg",
            "jaw opening mean (deg)",
            reference["jaw_opening_mean_deg"],
            {c: float(o.mean()) for c, o in openings.items()},
            None,
        ),
    ]
    motion, silent, words = silence
    opening = fs.mouth_opening_degrees(motion.poses)
    speed = np.abs(np.diff(opening)) * layout.FPS
    expression_speed = fs.expression_speed(motion.expressions)
    in_silence, in_speech = silent[1:] & silent[:-1], words[1:] & words[:-1]
    closed = Target("value_max", round(reference["speaking_opening_p10_deg"], 2))
    quiet = [
        summary_row(
            "face_silence_opening_deg",
            "mouth opening in 10 s digital silence, mean "
            "(deg; real: the mean in the clip's pauses)",
            reference["pause_opening_mean_deg"],
            {"speech_silence_speech": float(opening[silent].mean())},
            closed,
        ),
        summary_row(
            "face_silence_opening_max_deg",
            "mouth opening in 10 s digital silence, max (deg)",
            float("nan"),
            {"speech_silence_speech": float(opening[silent].max())},
            closed,
        ),
        summary_row(
            "face_silence_jaw_speed_ratio",
            "jaw speed in silence / in speech",
            float("nan"),
            {"speech_silence_speech": float(speed[in_silence].mean() / speed[in_speech].mean())},
            TARGETS["still"],
        ),
        summary_row(
            "face_silence_expression_speed_ratio",
            "expression speed in silence / in speech",
            float("nan"),
            {
                "speech_silence_speech": float(
                    expression_speed[in_silence].mean() / expression_speed[in_speech].mean()
                )
            },
            TARGETS["still"],
        ),
    ]
    result = {
        "held_out": held,
        "silence": quiet,
        "reference": reference,
        "closed_bound_note": (
            f"closed: below {reference['speaking_opening_p10_deg']:.2f} deg, the real "
            f"mouth's {SPEAKING_PERCENTILE:g}th percentile while speaking"
        ),
    }
    if split is None:
        result["time_split"] = None
        return result
    generated, real_tail, first_mean_expressions, first_mean_opening, loudness = split
    real_opening = fs.mouth_opening_degrees(real_tail.poses)
    gen_opening = fs.mouth_opening_degrees(generated.poses)
    constant = np.broadcast_to(first_mean_expressions, real_tail.expressions.shape)
    result["time_split"] = [
        summary_row(
            "face_split_expression_error",
            "expression error, mean abs(gen - real) (real column: the first 75 %'s mean face)",
            fs.expression_error(constant, real_tail.expressions),
            {"generated": fs.expression_error(generated.expressions, real_tail.expressions)},
            TARGETS["error"],
        ),
        summary_row(
            "face_split_jaw_error_deg",
            "jaw opening error, mean abs(gen - real) "
            "(deg; real column: the first 75 %'s mean opening)",
            float(np.abs(first_mean_opening - real_opening).mean()),
            {"generated": float(np.abs(gen_opening - real_opening).mean())},
            TARGETS["error"],
        ),
        summary_row(
            "face_split_loudness_correlation",
            "mouth opening / loudness correlation",
            fs.correlation(real_opening, loudness),
            {"generated": fs.correlation(gen_opening, loudness)},
            TARGETS["correlation"],
        ),
        summary_row(
            "face_split_opening_correlation",
            "generated / real mouth opening correlation",
            float("nan"),
            {"generated": fs.correlation(gen_opening, real_opening)},
            None,
        ),
        summary_row(
            "face_split_jaw_opening_std_deg",
            "jaw opening std (deg)",
            float(real_opening.std()),
            {"generated": float(gen_opening.std())},
            TARGETS["std"],
        ),
        summary_row(
            "face_split_expression_std",
            "expression std",
            fs.expression_std(real_tail.expressions),
            {"generated": fs.expression_std(generated.expressions)},
            TARGETS["std"],
        ),
    ]
    return result


def open_and_closed_stills(
    renderer: VideoRenderer, motion: MotionClip, silent: np.ndarray, out: Path
) -> tuple[Path, dict[str, float]]:
    """Crops around the mouth of the frame where the generated mouth is widest open (in speech)
    and of the middle of the silence, side by side; returns the path and the two openings."""
    from PIL import Image, ImageDraw

    from semges.render.framing import project

    opening = fs.mouth_opening_degrees(motion.poses)
    speaking = np.where(silent, -np.inf, opening)
    frames = {
        "open": int(np.argmax(speaking)),
        "closed": int(np.flatnonzero(silent)[silent.sum() // 2]),
    }
    framing = renderer.frame(motion, "upper")
    body = renderer.body
    crops = []
    for name, frame in frames.items():
        image = renderer.render_still(motion, frame, "upper")
        vertices = body.pose(motion, frame, frame + 1).vertices[0]
        mouth = vertices[body.dominant_joint == layout.JOINT_NAMES.index("head")]
        if getattr(body, "mouth", None) is not None:
            mouth = vertices[-body.mouth.num_vertices :]
        ndc = project(mouth.mean(axis=0, keepdims=True), framing.camera)[0]
        height, width = image.shape[:2]
        x = int(round((ndc[0] + 1) / 2 * width))
        y = int(round((1 - ndc[1]) / 2 * height))
        box = (x - STILL_CROP_PX, y - STILL_CROP_PX, x + STILL_CROP_PX, y + STILL_CROP_PX)
        crop = (
            Image.fromarray(image)
            .crop(box)
            .resize((2 * STILL_CROP_PX * STILL_SCALE,) * 2, Image.LANCZOS)
        )
        ImageDraw.Draw(crop).text(
            (8, 8), f"{name}: frame {frame}, jaw {opening[frame]:.2f} deg", fill=(0, 0, 0)
        )
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


def split_curves(generated: MotionClip, real: MotionClip, loudness: np.ndarray, out: Path) -> Path:
    """Panels over the time split's frames, real in black and generated in red: jaw opening,
    two expression coefficients, then the speech loudness (blue). Each panel scaled to fit."""
    from PIL import Image, ImageDraw

    width, height = CURVE_SIZE
    panels = [
        (
            "jaw opening (deg)",
            [fs.mouth_opening_degrees(real.poses), fs.mouth_opening_degrees(generated.poses)],
        )
    ]
    panels += [
        (f"expression {k}", [real.expressions[:, k], generated.expressions[:, k]])
        for k in CURVE_EXPRESSIONS
    ]
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
        draw.text(
            (6, top + 2),
            f"{label}: real black, generated red" if len(series) > 1 else label,
            fill=(0, 0, 0),
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


# -- in the motion benchmark ---------------------------------------------------------------


def face_markdown(face: dict) -> list[str]:
    """The face section: held-out speech, silence, time split, stills."""
    lines = [
        "",
        "## Face: jaw and expressions",
        "",
        "The face regressor is deterministic (no seed or temperature). Mouth opening: the "
        "jaw's opening rotation (deg); loudness: RMS of the speech over 67 ms around each "
        "frame. Real: the whole real clip.",
        "",
        *held_out_table(face["held_out"]),
    ]
    lines += [
        "",
        f"Speech / 10 s digital silence / speech ({face['closed_bound_note']}):",
        "",
        *SINGLE_TABLE_HEADER,
        *[single_line(row) for row in face["silence"]],
    ]
    if face["time_split"] is None:
        lines += [
            "",
            "Time split: the split pipeline has no face (train one with "
            "`python -m training.default_checkpoint --train-fraction 0.75 ...`).",
        ]
    else:
        lines += [
            "",
            "Time split (face trained on the first 75 % of the real clip, frames of the "
            "last 25 %; the error targets: below always answering the first 75 %'s mean):",
            "",
            *SINGLE_TABLE_HEADER,
            *[single_line(row) for row in face["time_split"]],
        ]
    if face.get("curves"):
        lines += [
            "",
            f"Curves over the time split (real black, generated red): `{face['curves']}`.",
        ]
    still = face["stills"]
    lines += [
        "",
        f"Stills: `{still['path']}` (mannequin, mouth widest open in speech: jaw "
        f"{still['openings']['open']:.2f} deg; middle of the silence: "
        f"{still['openings']['closed']:.2f} deg).",
    ]
    return lines


def face_results(
    frontend: SpeechFrontend,
    source: Path,
    real: MotionClip,
    real_words: list[Word],
    generated: dict[str, MotionClip],
    silence: tuple[MotionClip, np.ndarray, np.ndarray],
    split: dict,
    split_motion: MotionClip | None,
    split_start: int,
) -> dict:
    """The face rows from the motion the benchmark already generated."""

    def loudness(clip: str, num_frames: int) -> np.ndarray:
        samples = frontend.load(str(source / f"{clip}.wav"))
        return fs.speech_loudness(samples, SAMPLE_RATE, num_frames)

    real_loudness = loudness(REAL_CLIP, real.num_frames)
    reference = real_face_reference(real, real_loudness, word_frames(real_words, real.num_frames))
    split_input = None
    if split_motion is not None and split.get("has_face"):
        first = segment(real, 0, split_start)
        split_input = (
            split_motion,
            segment(real, split_start, real.num_frames),
            first.expressions.mean(axis=0),
            float(fs.mouth_opening_degrees(first.poses).mean()),
            real_loudness[split_start:],
        )
    held = {c: (m, loudness(c, m.num_frames)) for c, m in generated.items()}
    return face_rows(reference, held, silence, split_input)
