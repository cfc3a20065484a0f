"""Stage 1: train one motion VQ-VAE per generated part.

    python -m training.vqvae --config configs/vqvae_tiny.yaml [key=value ...]
    torchrun --nproc_per_node 2 -m training.vqvae --config ...   # same code, DDP

Losses per part: L1 between reconstructed and real rotation matrices, L1 on their velocity and
acceleration (keeps decoded motion smooth), and the quantizer's commitment loss. Writes
``<out_dir>/config.yaml`` first, TensorBoard logs (losses, codebook perplexity and usage per
part), resumable checkpoints, and finally ``<out_dir>/vqvae_<part>/`` via ``save_pretrained``.
"""

from __future__ import annotations

import dataclasses
import logging
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from training import beat2_files as files
from training.config import VQVAELossConfig, VQVAETrainConfig, config_from_command_line

if TYPE_CHECKING:
    import torch
    from torch import nn

    from semges.models import MotionVQVAE

# torch and the torch-backed modules are imported inside the functions that use them, so
# that ``--help`` and argument errors answer without loading torch

logger = logging.getLogger(__name__)


def motion_losses(prediction: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """(B, T, J * 6) predicted and real 6D rotations -> L1 losses on rotation matrices, their
    velocity and acceleration (each a scalar)."""
    import torch.nn.functional as F

    from semges.rotations import flat_rot6d_to_matrix

    pred, real = flat_rot6d_to_matrix(prediction), flat_rot6d_to_matrix(target)  # (B, T, J, 3, 3)
    pred_vel, real_vel = pred.diff(dim=1), real.diff(dim=1)
    return {
        "reconstruction": F.l1_loss(pred, real),
        "velocity": F.l1_loss(pred_vel, real_vel),
        "acceleration": F.l1_loss(pred_vel.diff(dim=1), real_vel.diff(dim=1)),
    }


def part_loss(
    model: nn.Module, motion: torch.Tensor, weights: VQVAELossConfig
) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted loss of one part's VQ-VAE on a (B, T, D) batch, and scalars to log."""
    from semges.serialization import unwrap_module

    output = model(motion)
    losses = motion_losses(output.reconstruction, motion)
    losses["commitment"] = output.quantizer.commit_loss
    total = sum(getattr(weights, name) * value for name, value in losses.items())
    codebook_size = unwrap_module(model).config.codebook_size
    scalars = {name: float(value.detach()) for name, value in losses.items()}
    scalars["perplexity"] = float(output.quantizer.perplexity)
    scalars["usage"] = output.quantizer.indices.unique().numel() / codebook_size
    return total, scalars


def build_models(config: VQVAETrainConfig, clips: list) -> dict[str, MotionVQVAE]:
    """One VQ-VAE per part, normalisation buffers set from the training motion."""
    from semges.models import MotionVQVAE
    from training.beat2_data import channel_statistics

    models = {}
    for part in config.parts:
        model = MotionVQVAE(dataclasses.replace(config.model, part=part))
        mean, std = channel_statistics([clip.parts[part] for clip in clips])
        model.set_normalization(mean, std, config.min_std)
        models[part] = model
    return models


def train(config: VQVAETrainConfig) -> Path:
    """Run stage 1 to ``config.run.steps``; returns the run folder."""
    import torch
    from torch.nn.parallel import DistributedDataParallel

    from semges.pipeline import vqvae_folder
    from training import loop
    from training.beat2_data import MotionWindows, collate, load_clips

    run = config.run
    out_dir = Path(run.out_dir)
    process = loop.start_run(run, config)
    clips = load_clips(config.data, extractor=None)
    dataset = MotionWindows(clips, config.data.window, config.data.stride)
    models = build_models(config, clips)
    for model in models.values():
        model.to(process.device).train()
    params = [p for m in models.values() for p in m.parameters()]
    optimizer, scheduler = loop.make_optimizer(params, config.optim, run.steps)
    step = loop.resume(run, models, optimizer, scheduler)
    wrapped: dict[str, nn.Module] = dict(models)
    if process.distributed:
        wrapped = {p: DistributedDataParallel(m) for p, m in models.items()}
    log = loop.ScalarLog(out_dir, process)
    bar = loop.progress_bar(run.steps, step, run.progress and process.is_main)
    while step < run.steps:
        indices = loop.batch_indices(len(dataset), run.batch_size, run.seed, step, process)
        batch = collate([dataset[i] for i in indices])
        total = torch.zeros((), device=process.device)
        scalars: dict[str, float] = {}
        for part, model in wrapped.items():
            loss, part_scalars = part_loss(
                model, batch[f"motion/{part}"].to(process.device), config.loss
            )
            total = total + loss
            scalars.update({f"{part}/{k}": v for k, v in part_scalars.items()})
        grad_norm = loop.optimizer_step(total, params, optimizer, scheduler, config.optim.grad_clip)
        step += 1
        save = partial(loop.save_checkpoint, out_dir, step, models, optimizer, scheduler)
        if loop.end_of_step(
            step, run, total, grad_norm, scalars, scheduler, log, bar, process, save
        ):
            break
    bar.close()
    log.close()
    if process.is_main and step == run.steps:
        for part, model in models.items():
            model.eval().save_pretrained(out_dir / vqvae_folder(part))
        logger.info("stage 1 done: %s", out_dir)
    loop.teardown_process(process)
    return out_dir


def main(argv: list[str] | None = None) -> Path:
    config = config_from_command_line(
        VQVAETrainConfig, "Train the per-part motion VQ-VAEs (stage 1).", argv
    )
    files.require_clips_or_exit(config.data.root, config.data.speakers, config.data.splits)
    return train(config)


if __name__ == "__main__":
    main()
