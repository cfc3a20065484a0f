"""Face stage: train the jaw + expression regressor (``semges.models.face``) on BEAT2 clips.

    python -m training.face --config configs/face.yaml [key=value ...]

Independent of stages 1 and 2 (the body checkpoint is untouched): per clip, the real jaw
rotation (6D) and the 100 FLAME expression coefficients are the targets, the cached speech
features of the generator (Whisper states + prosody, per-frame word embeddings) the inputs.
Losses: MSE on the normalised face channels and on their frame-to-frame differences, the jaw
channels weighted ``loss.jaw_weight``. Writes ``<out_dir>/config.yaml`` first, TensorBoard
logs, resumable checkpoints, and finally ``<out_dir>/face/`` via ``save_pretrained``;
:func:`install_face` adds that folder to a pipeline folder.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from semges import layout
from semges.motion import load_motion
from training import beat2_files as files
from training.clip_features import ClipFeatureExtractor, cached_features, default_extractor
from training.config import DataConfig, FaceLossConfig, FaceTrainConfig, config_from_command_line

if TYPE_CHECKING:
    import torch

    from semges.models.face import FaceModel

# torch and the torch-backed modules are imported inside the functions that use them, so
# that ``--help`` and argument errors answer without loading torch

logger = logging.getLogger(__name__)


@dataclass
class FaceClip:
    """One clip at 30 fps, all arrays of the same length T."""

    clip_id: str
    audio: torch.Tensor  # (T, A) float32
    text: torch.Tensor  # (T, text_dim) float32
    word_mask: torch.Tensor  # (T,) bool
    face: torch.Tensor  # (T, FACE_DIM) jaw 6D + expressions

    @property
    def num_frames(self) -> int:
        return self.audio.shape[0]


def load_face_clips(config: DataConfig, extractor: ClipFeatureExtractor) -> list[FaceClip]:
    """Every clip of the configured speakers and splits, cut to ``config.time_range``."""
    import torch

    from training.beat2_data import cache_dir_for, time_slice

    clips = []
    for record in files.list_clips(config.root, config.speakers, config.splits):
        motion = load_motion(record.motion)
        features = cached_features(record, extractor, cache_dir_for(config))
        num_frames = min(motion.num_frames, features.num_frames)
        kept = time_slice(num_frames, (config.time_range[0], config.time_range[1]))
        face = torch.cat(
            [
                motion.part_rot6d(layout.FACE_JAW).float(),
                torch.from_numpy(motion.expressions).float(),
            ],
            dim=-1,
        )
        clips.append(
            FaceClip(
                clip_id=record.clip_id,
                audio=torch.from_numpy(features.audio[:num_frames][kept]).float(),
                text=torch.from_numpy(features.text[:num_frames][kept]).float(),
                word_mask=torch.from_numpy(features.word_mask[:num_frames][kept]).bool(),
                face=face[:num_frames][kept],
            )
        )
    logger.info("loaded %d face clips (%d frames)", len(clips), sum(c.num_frames for c in clips))
    return clips


def window_starts(clips: list[FaceClip], window: int, stride: int) -> list[tuple[int, int]]:
    """(clip index, first frame) of every window; clips shorter than a window are skipped."""
    starts = [
        (c, s)
        for c, clip in enumerate(clips)
        for s in range(0, clip.num_frames - window + 1, stride)
    ]
    if not starts:
        raise ValueError(f"no clip is at least {window} frames long")
    return starts


def batch(
    clips: list[FaceClip], starts: list[tuple[int, int]], window: int
) -> dict[str, torch.Tensor]:
    """Stacked windows: audio (B, W, A), text (B, W, D), word_mask (B, W), face (B, W, F)."""
    import torch

    picked = [(clips[c], slice(s, s + window)) for c, s in starts]
    return {
        name: torch.stack([getattr(clip, name)[w] for clip, w in picked])
        for name in ("audio", "text", "word_mask", "face")
    }


def face_loss(
    prediction: torch.Tensor, target: torch.Tensor, weights: FaceLossConfig
) -> dict[str, torch.Tensor]:
    """(B, T, FACE_DIM) normalised predicted and real face -> unweighted scalar losses; the
    jaw channels count ``weights.jaw_weight`` times an expression channel."""
    import torch

    channel_weight = torch.ones(layout.FACE_DIM, device=prediction.device)
    channel_weight[: layout.FACE_JAW.rot6d_dim] = weights.jaw_weight
    channel_weight = channel_weight / channel_weight.mean()
    error = (prediction - target) ** 2
    velocity_error = (prediction.diff(dim=1) - target.diff(dim=1)) ** 2
    return {
        "face": (error * channel_weight).mean(),
        "velocity": (velocity_error * channel_weight).mean(),
    }


def build_face_model(config: FaceTrainConfig, clips: list[FaceClip]) -> FaceModel:
    """The face model with feature dims from the data and normalisation set from it."""
    from semges.models.face import FaceModel
    from training.beat2_data import channel_statistics

    model_config = dataclasses.replace(
        config.model,
        audio_dim=clips[0].audio.shape[1],
        text_dim=clips[0].text.shape[1],
        dilations=tuple(config.model.dilations),
    )
    model = FaceModel(model_config)
    audio_mean, audio_std = channel_statistics([clip.audio for clip in clips])
    face_mean, face_std = channel_statistics([clip.face for clip in clips])
    model.set_normalization(audio_mean, audio_std, face_mean, face_std, config.min_std)
    model.set_rest_face(rest_face(clips, config.rest_closed_fraction))
    return model


def rest_face(clips: list[FaceClip], closed_fraction: float) -> torch.Tensor:
    """(FACE_DIM,) the face with the mouth closed: the mean face of the ``closed_fraction`` of
    training frames whose jaw is the least open.

    Not the mean face of pauses: one minute of fluent speech has under two seconds far from a
    word, and the mouth is often still half open there.
    """
    import torch

    from semges.rotations import flat_rot6d_to_axis_angle

    faces = torch.cat([clip.face for clip in clips])  # (N, FACE_DIM)
    jaw = flat_rot6d_to_axis_angle(faces[:, : layout.FACE_JAW.rot6d_dim])  # (N, 3)
    opening = jaw[:, layout.JAW_OPENING_AXIS]
    count = max(1, round(closed_fraction * opening.numel()))
    return faces[opening.argsort()[:count]].mean(dim=0)


def train(config: FaceTrainConfig, extractor: ClipFeatureExtractor | None = None) -> Path:
    """Run the face stage to ``config.run.steps``; returns the saved face model folder."""
    from semges.pipeline import FACE_FOLDER
    from training import loop

    run = config.run
    out_dir = Path(run.out_dir)
    process = loop.start_run(run, config)
    extractor = extractor if extractor is not None else default_extractor()
    clips = load_face_clips(config.data, extractor)
    starts = window_starts(clips, config.data.window, config.data.stride)
    model = build_face_model(config, clips).to(process.device).train()
    params = list(model.parameters())
    optimizer, scheduler = loop.make_optimizer(params, config.optim, run.steps)
    step = loop.resume(run, {"face": model}, optimizer, scheduler)
    log = loop.ScalarLog(out_dir, process)
    bar = loop.progress_bar(run.steps, step, run.progress and process.is_main)
    while step < run.steps:
        indices = loop.batch_indices(len(starts), run.batch_size, run.seed, step, process)
        data = {
            k: v.to(process.device)
            for k, v in batch(clips, [starts[i] for i in indices], config.data.window).items()
        }
        prediction = model(data["audio"], data["text"], data["word_mask"])
        losses = face_loss(prediction, model.normalize_face(data["face"]), config.loss)
        total = config.loss.face * losses["face"] + config.loss.velocity * losses["velocity"]
        grad_norm = loop.optimizer_step(total, params, optimizer, scheduler, config.optim.grad_clip)
        step += 1
        save = partial(loop.save_checkpoint, out_dir, step, {"face": model}, optimizer, scheduler)
        scalars = {f"face/{name}": float(value.detach()) for name, value in losses.items()}
        if loop.end_of_step(
            step, run, total, grad_norm, scalars, scheduler, log, bar, process, save
        ):
            break
    bar.close()
    log.close()
    folder = out_dir / FACE_FOLDER
    if process.is_main and step == run.steps:
        model.eval().cpu().save_pretrained(folder)
        logger.info("face stage done: %s", folder)
    loop.teardown_process(process)
    return folder


def install_face(face_folder: str | Path, pipeline_folder: str | Path) -> Path:
    """Add a trained face model to a saved pipeline folder (the pipeline writes its folder and
    lists it in ``pipeline.json``).

    Leaves everything else in the folder as it is (a model card, metrics, the body weights).
    """
    from semges.models.face import FaceModel
    from semges.pipeline import FACE_FOLDER, SemGesPipeline

    pipeline = SemGesPipeline.from_pretrained(pipeline_folder)
    face = FaceModel.from_pretrained(face_folder)
    destination = pipeline.with_face(face).save_component(pipeline_folder, FACE_FOLDER)
    logger.info("face installed in %s", pipeline_folder)
    return destination


def main(argv: list[str] | None = None) -> Path:
    config = config_from_command_line(
        FaceTrainConfig, "Train the face regressor (jaw + expressions).", argv
    )
    files.require_clips_or_exit(config.data.root, config.data.speakers, config.data.splits)
    return train(config)


if __name__ == "__main__":
    main()
