"""Stage 2: train the SemGes generator against frozen stage-1 VQ-VAEs.

    python -m training.generator --config configs/generator_tiny.yaml [key=value ...]
    torchrun --nproc_per_node 2 -m training.generator --config ...   # same code, DDP

Losses (weights in ``GeneratorLossConfig``), per part:
- latent: MSE between predicted latents and the frozen VQ encoder's latents of the real motion;
- classification: cross-entropy between the code logits and the index of the code nearest to
  the real motion's latent (as EMAGE does); inference picks codes from these logits;
- coherence: 1 - cos(text latent, real latent) averaged over frames that carry a word;
- relevance: Huber (beta 0.1) between decoded and real rotation matrices, each frame weighted
  by (1 + s), s the semantic relevance; the predicted latents go through the frozen codebook
  with a straight-through estimator and the frozen decoder;
- velocity: L1 between the velocities of decoded and real rotation matrices.
The run ends by writing a full pipeline folder, ``<out_dir>/pipeline``.
"""

from __future__ import annotations

import dataclasses
import logging
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from semges.layout import FPS
from training import beat2_files as files
from training.clip_features import ClipFeatureExtractor, default_extractor
from training.config import GeneratorLossConfig, GeneratorTrainConfig, config_from_command_line

if TYPE_CHECKING:
    import torch

    from semges.models import MotionVQVAE, SemGesGenerator
    from training import loop
    from training.beat2_data import ClipData

# torch and the torch-backed modules are imported inside the functions that use them, so
# that ``--help`` and argument errors answer without loading torch

logger = logging.getLogger(__name__)

PIPELINE_DIR = "pipeline"
WITHHOLD_STREAM = 1  # tells the withholding draws apart from other draws of (seed, step)
WORD_LAG_STREAM = 2  # and the word lag draws


def load_frozen_vqvaes(
    folder: str | Path, parts: tuple[str, ...], device: torch.device
) -> dict[str, MotionVQVAE]:
    """Stage-1 VQ-VAEs in eval mode with gradients off (their codebooks must not move)."""
    from semges.models import MotionVQVAE
    from semges.pipeline import vqvae_folder

    vqvaes = {
        part: MotionVQVAE.from_pretrained(Path(folder) / vqvae_folder(part), device)
        for part in parts
    }
    for vqvae in vqvaes.values():
        vqvae.requires_grad_(False)
    return vqvaes


def straight_through_decode(vqvae: MotionVQVAE, latents: torch.Tensor) -> torch.Tensor:
    """(B, T, C) predicted latents -> (B, T, D) 6D rotations through the nearest codes; the
    gradient flows to the latents as if the snapping were the identity."""
    codes = vqvae.quantizer.indices_to_codes(vqvae.quantizer.snap(latents.detach()))
    return vqvae.decode(latents + (codes - latents).detach())


def generator_losses(
    latents: torch.Tensor,
    code_logits: torch.Tensor,
    text_latents: torch.Tensor,
    motion: torch.Tensor,
    word_mask: torch.Tensor,
    semantic: torch.Tensor,
    vqvae: MotionVQVAE,
    weights: GeneratorLossConfig,
) -> dict[str, torch.Tensor]:
    """Unweighted losses of one part.

    latents, text_latents (B, T, C); code_logits (B, T, K); motion (B, T, D) real 6D
    rotations; word_mask (B, T) bool; semantic (B, T) in [0, 1].
    """
    import torch
    import torch.nn.functional as F

    from semges.rotations import flat_rot6d_to_matrix

    with torch.no_grad():
        target = vqvae.encode(motion)  # (B, T, C)
        target_codes = vqvae.quantizer.snap(target)  # (B, T)
    losses = {"latent": F.mse_loss(latents, target)}
    if weights.classification > 0:
        losses["classification"] = F.cross_entropy(
            code_logits.flatten(0, 1),
            target_codes.flatten(),
            label_smoothing=weights.label_smoothing,
        )
    if weights.coherence > 0:
        cosine = F.cosine_similarity(text_latents, target, dim=-1)  # (B, T)
        mask = word_mask.float()
        losses["coherence"] = ((1 - cosine) * mask).sum() / mask.sum().clamp(min=1)
    if weights.relevance > 0 or weights.velocity > 0:
        pred = flat_rot6d_to_matrix(straight_through_decode(vqvae, latents))  # (B, T, J, 3, 3)
        real = flat_rot6d_to_matrix(motion)
        if weights.relevance > 0:
            huber = F.smooth_l1_loss(pred, real, beta=weights.relevance_beta, reduction="none")
            per_frame = huber.flatten(2).mean(dim=-1)  # (B, T)
            frame_weight = 1 + semantic
            losses["relevance"] = (per_frame * frame_weight).sum() / frame_weight.sum()
        if weights.velocity > 0:
            losses["velocity"] = F.l1_loss(pred.diff(dim=1), real.diff(dim=1))
    return losses


def withheld_conditions(
    config: GeneratorTrainConfig, step: int, process: loop.Process, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B,) bool each: the windows of this process's share of ``step``'s batch whose words,
    or whole speech, are withheld; drawn from (seed, step) alone, so a resumed run draws the
    same."""
    import numpy as np
    import torch

    rng = np.random.default_rng((config.run.seed, step, WITHHOLD_STREAM))
    draw = rng.random(config.run.batch_size * process.world_size)[
        process.rank :: process.world_size
    ]
    speech = draw < config.speech_withheld
    words = ~speech & (draw < config.speech_withheld + config.words_withheld)
    return (torch.from_numpy(words).to(device), torch.from_numpy(speech).to(device))


def unknown_word_frames(
    config: GeneratorTrainConfig,
    step: int,
    process: loop.Process,
    word_mask: torch.Tensor,
    words_withheld: torch.Tensor,
) -> torch.Tensor:
    """(B, T) bool: the frames whose words the model is not told. All frames of a window
    whose words are withheld; in the others, with a word lag (the live generator), the frames
    from ``lag`` before the window's end, lag drawn per window from (seed, step), moved back
    to the start of a word it falls in (live recognition commits whole words)."""
    import numpy as np

    batch, length = word_mask.shape
    unknown = words_withheld[:, None].expand(batch, length).clone()
    if config.word_lag_s_max == 0:
        return unknown
    rng = np.random.default_rng((config.run.seed, step, WORD_LAG_STREAM))
    lags = rng.uniform(
        config.word_lag_s_min, config.word_lag_s_max, config.run.batch_size * process.world_size
    )[process.rank :: process.world_size]
    mask = word_mask.cpu().numpy()
    for b, lag in enumerate(lags):
        cut = max(0, length - round(lag * FPS))
        while 0 < cut < length and mask[b, cut - 1] and mask[b, cut]:
            cut -= 1
        unknown[b, cut:] = True
    return unknown


def build_generator(
    config: GeneratorTrainConfig, clips: list[ClipData], vqvaes: dict[str, MotionVQVAE]
) -> SemGesGenerator:
    """The generator with dims from the data and the VQ-VAEs, audio normalisation set."""
    from semges.models import SemGesGenerator
    from training.beat2_data import channel_statistics, feature_dims

    audio_dim, text_dim = feature_dims(clips)
    latent_dims = {v.config.code_dim for v in vqvaes.values()}
    codebook_sizes = {v.config.codebook_size for v in vqvaes.values()}
    if len(latent_dims) != 1 or len(codebook_sizes) != 1:
        raise ValueError(
            f"the VQ-VAEs have different code sizes {sorted(latent_dims)} or "
            f"codebook sizes {sorted(codebook_sizes)}"
        )
    model_config = dataclasses.replace(
        config.model,
        audio_dim=audio_dim,
        text_dim=text_dim,
        latent_dim=latent_dims.pop(),
        codebook_size=codebook_sizes.pop(),
        window=config.data.window,
    )
    generator = SemGesGenerator(model_config)
    mean, std = channel_statistics([clip.audio for clip in clips])
    generator.set_audio_normalization(mean, std, config.min_std)
    for part in model_config.parts:
        generator.set_code_prior(part, code_counts(vqvaes[part], [c.parts[part] for c in clips]))
    return generator


def code_counts(vqvae: MotionVQVAE, motions: list[torch.Tensor]) -> torch.Tensor:
    """(K,) how often each code is the nearest to the frames of (T_i, D) motions."""
    import torch

    counts = torch.zeros(vqvae.config.codebook_size)
    device = vqvae.mean.device
    with torch.no_grad():
        for motion in motions:
            indices = vqvae.quantizer.snap(vqvae.encode(motion[None].to(device)))
            counts += torch.bincount(indices.flatten().cpu(), minlength=counts.numel())
    return counts


def train(config: GeneratorTrainConfig, extractor: ClipFeatureExtractor | None = None) -> Path:
    """Run stage 2 to ``config.run.steps``; returns the pipeline folder it wrote."""
    import torch
    from torch.nn.parallel import DistributedDataParallel

    from semges.pipeline import InferenceConfig, SemGesPipeline
    from training import loop
    from training.beat2_data import MotionWindows, collate, load_clips

    run = config.run
    out_dir = Path(run.out_dir)
    process = loop.start_run(run, config)
    extractor = extractor if extractor is not None else default_extractor()
    clips = load_clips(config.data, extractor)
    dataset = MotionWindows(clips, config.data.window, config.data.stride)
    vqvaes = load_frozen_vqvaes(config.vqvae_dir, tuple(config.model.parts), process.device)
    generator = build_generator(config, clips, vqvaes).to(process.device).train()
    optimizer, scheduler = loop.make_optimizer(
        list(generator.parameters()), config.optim, run.steps
    )
    step = loop.resume(run, {"generator": generator}, optimizer, scheduler)
    model = generator
    if process.distributed:
        # text_to_latent / the code heads are unused when their loss is off
        unused = config.loss.coherence == 0 or config.loss.classification == 0
        model = DistributedDataParallel(generator, find_unused_parameters=unused)
    log = loop.ScalarLog(out_dir, process)
    bar = loop.progress_bar(run.steps, step, run.progress and process.is_main)
    while step < run.steps:
        indices = loop.batch_indices(len(dataset), run.batch_size, run.seed, step, process)
        batch = {k: v.to(process.device) for k, v in collate([dataset[i] for i in indices]).items()}
        words_withheld, speech_withheld = withheld_conditions(config, step, process, process.device)
        unknown = unknown_word_frames(config, step, process, batch["word_mask"], words_withheld)
        output = model(
            batch["audio"],
            batch["text"],
            batch["word_mask"],
            batch["speaker"],
            batch["mirrored"],
            unknown,
            speech_withheld,
        )
        # the coherence loss aligns the words with the motion: only where words were given
        words_given = batch["word_mask"] & ~unknown & ~speech_withheld[:, None]
        total = torch.zeros((), device=process.device)
        scalars: dict[str, float] = {}
        for part in generator.config.parts:
            losses = generator_losses(
                output.latents[part],
                output.code_logits[part],
                output.text_latents[part],
                batch[f"motion/{part}"],
                words_given,
                batch["semantic"],
                vqvaes[part],
                config.loss,
            )
            for name, value in losses.items():
                total = total + getattr(config.loss, name) * value
                scalars[f"{part}/{name}"] = float(value.detach())
        grad_norm = loop.optimizer_step(
            total, list(generator.parameters()), optimizer, scheduler, config.optim.grad_clip
        )
        step += 1
        save = partial(
            loop.save_checkpoint, out_dir, step, {"generator": generator}, optimizer, scheduler
        )
        if loop.end_of_step(
            step, run, total, grad_norm, scalars, scheduler, log, bar, process, save
        ):
            break
    bar.close()
    log.close()
    pipeline_dir = out_dir / PIPELINE_DIR
    if process.is_main and step == run.steps:
        generator.eval().save_pretrained(out_dir / "generator")
        pipeline = SemGesPipeline(
            generator.cpu(),
            {p: v.cpu() for p, v in vqvaes.items()},
            InferenceConfig(overlap=config.overlap),
            trained_speakers=tuple({clip.speaker for clip in clips}),
            frontend_config=extractor.frontend_config,
        )
        pipeline.save_pretrained(pipeline_dir)
        logger.info("stage 2 done: pipeline in %s", pipeline_dir)
    loop.teardown_process(process)
    return pipeline_dir


def main(argv: list[str] | None = None) -> Path:
    config = config_from_command_line(
        GeneratorTrainConfig, "Train the SemGes generator (stage 2) on frozen VQ-VAEs.", argv
    )
    files.require_clips_or_exit(config.data.root, config.data.speakers, config.data.splits)
    return train(config)


if __name__ == "__main__":
    main()
