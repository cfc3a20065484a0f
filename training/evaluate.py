"""Evaluate a pipeline checkpoint on a BEAT2-layout folder.

    python -m training.evaluate --checkpoint DIR --data DIR [--splits test] [--json out.json]

Generates motion (default temperature, seed 0) for every clip of the chosen splits that has speech, and
reports, next to the same numbers for the folder's real motion:
Real motion is measured with the joints the generator does not model set to rest, like the
generated motion.
- BC: audio onsets (librosa) vs motion beats (local minima of upper-body joint speed);
- L1Div: mean L1 distance of joint positions to the sequence mean (upper body + hands, m);
- jerk: mean |d^3 p/dt^3| of those joints (m/s^3), to catch jitter;
- FGD: generated vs all real motion in the folder, on semges' own autoencoder (not EMAGE's),
  the one trained once and shipped in ``assets/fgd_autoencoder`` (``--fgd-autoencoder``);
- SRGR: on clips that have both motion and semantic annotations;
- semantic-gesture recall (``--synthetic``): keyword gestures of the synthetic corpus.
Clips with a TextGrid use its words; clips without one are transcribed by the front-end.
Nothing is written except the JSON file asked for.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semges import layout, metrics
from semges.motion import MotionClip, load_motion
from semges.speakers import speaker_id_from_clip_name
from training import beat2_files as files
from training.clip_features import ClipFeatureExtractor, cached_features, default_extractor

if TYPE_CHECKING:
    from semges.pipeline import SemGesPipeline
    from training.fgd_model import FGDAutoencoder

# torch-backed modules (kinematics, pipeline, the FGD autoencoder) are imported where they are
# used, so that ``--help`` and argument errors answer without loading torch

logger = logging.getLogger(__name__)

EVAL_JOINTS = layout.UPPER_BODY.joints + layout.HANDS.joints
BEAT_JOINTS = layout.UPPER_BODY.joints


@dataclass(frozen=True)
class SpeechClip:
    clip_id: str
    speaker: int
    wav: Path
    textgrid: Path | None
    motion: Path | None
    sem: Path | None


def _optional_file(path: Path) -> Path | None:
    """``path`` if the file exists, else None (a clip's TextGrid, motion or sem file)."""
    return path if path.is_file() else None


def list_speech_clips(
    root: str | Path, speakers: list[int] | None, splits: list[str]
) -> list[SpeechClip]:
    """Clips of the split file that have a wav; TextGrid, motion and sem are optional."""
    root = Path(root)
    clips = []
    for clip_id, split in sorted(files.read_split(root).items()):
        speaker = speaker_id_from_clip_name(clip_id)
        wav = root / files.WAVE_DIR / f"{clip_id}.wav"
        if split not in splits or (speakers and speaker not in speakers) or not wav.is_file():
            continue
        clips.append(
            SpeechClip(
                clip_id,
                speaker,
                wav,
                _optional_file(root / files.TEXTGRID_DIR / f"{clip_id}.TextGrid"),
                _optional_file(root / files.MOTION_DIR / f"{clip_id}.npz"),
                _optional_file(root / files.SEM_DIR / f"{clip_id}.txt"),
            )
        )
    return clips


ONSET_HOP = 512  # librosa's default hop for onset strength, samples
ONSET_DELTA = 0.07  # librosa onset_detect's default peak threshold on the 0..1 envelope


def pick_peaks(
    envelope: np.ndarray,
    pre_max: int,
    post_max: int,
    pre_avg: int,
    post_avg: int,
    delta: float,
    wait: int,
) -> np.ndarray:
    """Indices n where x[n] is the max of x[n-pre_max : n+post_max], at least ``delta`` above
    the mean of x[n-pre_avg : n+post_avg], and more than ``wait`` after the previous peak
    (librosa.util.peak_pick's rule, in numpy: librosa's numba version crashes here)."""
    peaks: list[int] = []
    for n in range(envelope.size):
        window = envelope[max(0, n - pre_max) : n + post_max]
        average = envelope[max(0, n - pre_avg) : n + post_avg].mean()
        if (
            envelope[n] == window.max()
            and envelope[n] >= average + delta
            and (not peaks or n - peaks[-1] > wait)
        ):
            peaks.append(n)
    return np.asarray(peaks, dtype=int)


def audio_onsets(wav: Path) -> np.ndarray:
    """Onset times (s) of a speech file: librosa onset strength, librosa's default peak rule."""
    import librosa

    samples, rate = librosa.load(wav, sr=None, mono=True)
    envelope = librosa.onset.onset_strength(y=samples, sr=rate, hop_length=ONSET_HOP)
    envelope = envelope - envelope.min()
    envelope = envelope / max(envelope.max(), 1e-8)
    frames_per_s = rate / ONSET_HOP
    peaks = pick_peaks(
        envelope,
        pre_max=int(0.03 * frames_per_s),
        post_max=int(0.0 * frames_per_s) + 1,
        pre_avg=int(0.1 * frames_per_s),
        post_avg=int(0.1 * frames_per_s) + 1,
        delta=ONSET_DELTA,
        wait=int(0.03 * frames_per_s),
    )
    return peaks * ONSET_HOP / rate


def motion_statistics(motion: MotionClip, onsets: np.ndarray) -> dict[str, float]:
    """BC, L1Div and jerk of one clip."""
    from semges.kinematics import joint_positions

    positions = joint_positions(motion.poses)
    beats = metrics.motion_beats(positions[:, list(BEAT_JOINTS)], motion.fps)
    selected = positions[:, list(EVAL_JOINTS)]
    return {
        "bc": metrics.beat_consistency(onsets, beats),
        "l1div": metrics.l1_divergence(selected),
        "jerk": metrics.mean_jerk(selected, motion.fps),
    }


def generated_parts_only(motion: MotionClip) -> MotionClip:
    """The clip with every joint the generator does not model (jaw, eyes) at rest,
    so real and generated motion are measured on the same joints under the same root."""
    rest = MotionClip.rest(motion.num_frames)
    for part in layout.GENERATED_PARTS.values():
        rest = rest.with_part_rot6d(part, motion.part_rot6d(part))
    return rest


def _mean(rows: list[dict[str, float]], key: str) -> float:
    values = [r[key] for r in rows if key in r and np.isfinite(r[key])]
    return float(np.mean(values)) if values else float("nan")


def evaluate(
    pipeline: SemGesPipeline,
    data: str | Path,
    splits: list[str],
    speakers: list[int] | None,
    extractor: ClipFeatureExtractor | None,
    cache_dir: Path,
    fgd_autoencoder: FGDAutoencoder,
    synthetic: bool = False,
) -> dict:
    """All metrics as a JSON-ready dict (see the module docstring); FGD on the features of
    ``fgd_autoencoder`` (:func:`training.fgd_model.load_fgd_autoencoder`), which is not changed."""
    from semges.kinematics import joint_positions
    from training.fgd_model import FGD_NOTE, fgd_features, fgd_fingerprint, part_rot6d

    all_clips = list_speech_clips(data, speakers, list(files.SPLITS))
    eval_clips = [
        c
        for c in all_clips
        if c.clip_id in {s.clip_id for s in list_speech_clips(data, speakers, splits)}
    ]
    if not eval_clips:
        raise files.DatasetError(f"no clips with speech in {data} for splits {splits}")
    real_rows, generated_rows, real_motion, generated_motion = [], [], [], []
    for clip in all_clips:
        if clip.motion is not None:
            motion = generated_parts_only(load_motion(clip.motion))
            real_motion.append(part_rot6d(motion))
            real_rows.append(
                {"clip": clip.clip_id, **motion_statistics(motion, audio_onsets(clip.wav))}
            )
    recall_motions, recall_words = [], []
    for clip in eval_clips:
        if clip.textgrid is not None and extractor is not None:
            record = files.ClipRecord(
                clip.clip_id,
                clip.speaker,
                "",
                clip.motion or Path(),
                clip.wav,
                clip.textgrid,
                clip.sem,
            )
            features = cached_features(record, extractor, cache_dir)
        else:
            features = pipeline.frontend.extract(str(clip.wav))
        motion = pipeline.generate_motion(features, speaker=clip.speaker, seed=0)
        row = {
            "clip": clip.clip_id,
            "words": "textgrid" if clip.textgrid else "whisper",
            **motion_statistics(motion, audio_onsets(clip.wav)),
        }
        if clip.motion is not None and clip.sem is not None:
            real = generated_parts_only(load_motion(clip.motion))
            frames = min(real.num_frames, motion.num_frames)
            scores = files.semantic_scores(files.read_semantic_spans(clip.sem), frames)
            row["srgr"] = metrics.srgr(
                joint_positions(motion.poses)[:frames, list(EVAL_JOINTS)],
                joint_positions(real.poses)[:frames, list(EVAL_JOINTS)],
                scores,
            )
        generated_rows.append(row)
        generated_motion.append(part_rot6d(motion))
        recall_motions.append(motion)
        recall_words.append(features.words)
    result: dict = {
        "fgd_note": FGD_NOTE,
        "fgd_autoencoder": {
            "version": fgd_autoencoder.config.version,
            "fingerprint": fgd_fingerprint(fgd_autoencoder),
        },
        "splits": splits,
        "generated": {k: _mean(generated_rows, k) for k in ("bc", "l1div", "jerk", "srgr")},
        "real": {k: _mean(real_rows, k) for k in ("bc", "l1div", "jerk")},
        "generated_clips": generated_rows,
        "real_clips": real_rows,
    }
    if real_motion:
        result["generated"]["fgd"] = metrics.frechet_distance(
            fgd_features(fgd_autoencoder, real_motion).numpy(),
            fgd_features(fgd_autoencoder, generated_motion).numpy(),
        )
    if synthetic:
        from training.synthetic import keyword_gesture_recall

        result["generated"]["semantic_recall"] = keyword_gesture_recall(
            recall_motions, recall_words
        )
    return result


def format_table(result: dict) -> str:
    lines = ["| metric | generated | real |", "|---|---|---|"]
    for key, value in result["generated"].items():
        real = result["real"].get(key)
        lines.append(f"| {key} | {value:.4f} | {'' if real is None else f'{real:.4f}'} |")
    lines.append(f"\n{result['fgd_note']}")
    return "\n".join(lines)


def metrics_json(result: dict) -> str:
    """The result as strict JSON: metrics that could not be computed (NaN) become null."""

    def strict(value: object) -> object:
        if isinstance(value, dict):
            return {k: strict(v) for k, v in value.items()}
        if isinstance(value, list):
            return [strict(v) for v in value]
        if isinstance(value, float) and math.isnan(value):
            return None
        return value

    return json.dumps(strict(result), indent=2, allow_nan=False)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Evaluate a semges pipeline checkpoint.")
    parser.add_argument("--checkpoint", required=True, help="pipeline folder")
    parser.add_argument("--data", required=True, help="BEAT2-layout folder")
    parser.add_argument("--splits", nargs="+", default=["test"])
    parser.add_argument("--speakers", type=int, nargs="*", default=None)
    parser.add_argument(
        "--cache-dir", default=None, help="feature cache (default <data>/.feature_cache)"
    )
    parser.add_argument("--synthetic", action="store_true", help="also semantic-gesture recall")
    parser.add_argument("--json", default=None, help="write the metrics here")
    parser.add_argument(
        "--fgd-autoencoder",
        type=Path,
        default=None,
        help="FGD feature autoencoder folder (default: the shipped "
        "assets/fgd_autoencoder; python -m training.fgd_autoencoder builds one)",
    )
    args = parser.parse_args(argv)
    files.require_clips_or_exit(args.data, args.speakers, args.splits, [files.WAVE_DIR])
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from semges.pipeline import SemGesPipeline
    from training.fgd_model import DEFAULT_FGD_DIR, load_fgd_autoencoder

    autoencoder = load_fgd_autoencoder(args.fgd_autoencoder or DEFAULT_FGD_DIR)  # before generating
    pipeline = SemGesPipeline.from_pretrained(args.checkpoint)
    cache_dir = Path(args.cache_dir) if args.cache_dir else Path(args.data) / ".feature_cache"
    result = evaluate(
        pipeline,
        args.data,
        args.splits,
        args.speakers,
        default_extractor(),
        cache_dir,
        autoencoder,
        args.synthetic,
    )
    print(format_table(result))  # the table is this command's output
    if args.json:
        Path(args.json).write_text(metrics_json(result))
    return result


if __name__ == "__main__":
    main()
