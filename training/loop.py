"""What both trainers share: processes and devices, seeded batches, exact resume, logging.

Distributed runs: under ``torchrun`` (``WORLD_SIZE`` > 1) every process joins one group
(gloo on CPU, nccl on CUDA), wraps its model in DDP and takes its own slice of each global
batch. Nothing changes in the trainer code.

Exact resume: the batch of step k is drawn from a generator seeded with (seed, k), so it does
not depend on the past; a checkpoint holds models, optimizer, scheduler, step and the global
RNG states (dropout, dead-code replacement), so resuming from step k gives the same weights as
an uninterrupted run.
"""

from __future__ import annotations

import logging
import math
import os
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from semges.atomic_files import atomic_output
from training.config import OptimConfig, RunConfig, config_to_yaml

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
CONFIG_FILE = "config.yaml"
LOG_DIR = "logs"
STEP_SEED_STRIDE = 1_000_003  # keeps the per-step batch seeds of different run seeds apart


@dataclass(frozen=True)
class Process:
    rank: int
    world_size: int
    device: torch.device
    collective_timeout: timedelta  # how long a collective waits for the other processes

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup_process(run: RunConfig) -> Process:
    """Join the process group when launched by torchrun; pick this process's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = torch.device(run.device)
    if device.type == "cuda" and world_size > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    timeout = timedelta(seconds=run.collective_timeout_s)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=timeout)
    return Process(rank, world_size, device, timeout)


def start_run(run: RunConfig, config: Any) -> Process:
    """A trainer's first steps: join the process group, write the resolved ``config`` into
    ``run.out_dir`` (main process only), seed every generator with ``run.seed``."""
    process = setup_process(run)
    if process.is_main:
        write_resolved_config(Path(run.out_dir), config)
    seed_everything(run.seed)
    return process


def teardown_process(process: Process) -> None:
    """Wait for every process to finish, then leave the group. On gloo the wait names a
    process that never arrives (within ``process.collective_timeout``) instead of hanging."""
    if process.distributed and dist.is_initialized():
        if dist.get_backend() == "gloo":
            dist.monitored_barrier(timeout=process.collective_timeout)
        else:
            dist.barrier()
        dist.destroy_process_group()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def batch_indices(
    num_items: int, batch_size: int, seed: int, step: int, process: Process
) -> list[int]:
    """This process's share of the global batch of ``step`` (batch_size per process)."""
    generator = torch.Generator().manual_seed(seed * STEP_SEED_STRIDE + step)
    chosen = torch.randint(num_items, (batch_size * process.world_size,), generator=generator)
    return chosen[process.rank :: process.world_size].tolist()


def make_optimizer(
    params: list[nn.Parameter], config: OptimConfig, total_steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW with linear warm-up and cosine decay to ``min_lr_ratio``."""
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)

    def factor(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        progress = (step - config.warmup_steps) / max(1, total_steps - config.warmup_steps)
        cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        return config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def write_resolved_config(out_dir: Path, config: Any) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / CONFIG_FILE).write_text(config_to_yaml(config))


def latest_checkpoint(out_dir: Path) -> Path | None:
    paths = sorted(
        (out_dir / CHECKPOINT_DIR).glob("step_*.pt"), key=lambda p: int(p.stem.split("_")[1])
    )
    return paths[-1] if paths else None


def save_checkpoint(
    out_dir: Path,
    step: int,
    modules: dict[str, nn.Module],
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
) -> Path:
    """Everything needed to continue exactly; written atomically. Modules are unwrapped."""
    from semges.serialization import unwrap_module

    path = out_dir / CHECKPOINT_DIR / f"step_{step:07d}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "step": step,
        "modules": {name: unwrap_module(m).state_dict() for name, m in modules.items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": {
            "torch": torch.get_rng_state(),
            "numpy": np.random.get_state(),
            "python": random.getstate(),
        },
    }
    with atomic_output(path) as partial:
        torch.save(state, partial)
    return path


def load_checkpoint(
    path: Path, modules: dict[str, nn.Module], optimizer: torch.optim.Optimizer, scheduler: Any
) -> int:
    """Restore a checkpoint strictly; returns the step it was taken after."""
    from semges.serialization import unwrap_module

    state = torch.load(path, map_location="cpu", weights_only=False)
    if set(state["modules"]) != set(modules):
        raise ValueError(
            f"{path} holds modules {sorted(state['modules'])}, expected {sorted(modules)}"
        )
    for name, module in modules.items():
        unwrap_module(module).load_state_dict(state["modules"][name], strict=True)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"]["torch"])
    np.random.set_state(state["rng"]["numpy"])
    random.setstate(state["rng"]["python"])
    logger.info("resumed from %s", path)
    return int(state["step"])


def resume(
    run: RunConfig, modules: dict[str, nn.Module], optimizer: torch.optim.Optimizer, scheduler: Any
) -> int:
    """The step a run starts from: after the latest checkpoint in ``run.out_dir``, restored
    into ``modules``, optimizer and scheduler when ``run.resume``; else 0."""
    checkpoint = latest_checkpoint(Path(run.out_dir)) if run.resume else None
    if checkpoint is None:
        return 0
    return load_checkpoint(checkpoint, modules, optimizer, scheduler)


class ScalarLog:
    """TensorBoard scalars on the main process; a no-op elsewhere."""

    def __init__(self, out_dir: Path, process: Process) -> None:
        self.writer = None
        if process.is_main:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(out_dir / LOG_DIR))

    def scalars(self, values: dict[str, float], step: int) -> None:
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(name, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def progress_bar(total: int, initial: int, enabled: bool):  # -> tqdm
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, dynamic_ncols=True)


def average_across_processes(values: dict[str, float], process: Process) -> dict[str, float]:
    """Mean of each scalar over all processes (for logging only)."""
    if not process.distributed:
        return values
    keys = sorted(values)
    tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(tensor)
    return {k: float(v) / process.world_size for k, v in zip(keys, tensor)}


def optimizer_step(
    total: torch.Tensor,
    params: list[nn.Parameter],
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    grad_clip: float,
) -> float:
    """Backward, clip (after backward), step the optimizer and the schedule; the grad norm."""
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(params, grad_clip)
    optimizer.step()
    scheduler.step()
    return float(grad_norm)


def end_of_step(
    step: int,
    run: RunConfig,
    total: torch.Tensor,
    grad_norm: float,
    scalars: dict[str, float],
    scheduler: Any,
    log: ScalarLog,
    bar: Any,
    process: Process,
    save: Any,
) -> bool:
    """Progress, logging every ``log_every`` steps and ``save()`` every ``checkpoint_every``
    on the main process; True when the run stops here (``run.stop_at``)."""
    bar.update(1)
    if step % run.log_every == 0 or step == run.steps:
        scalars = dict(
            scalars, loss=float(total.detach()), grad_norm=grad_norm, lr=scheduler.get_last_lr()[0]
        )
        scalars = average_across_processes(scalars, process)
        log.scalars(scalars, step)
        bar.set_postfix(loss=f"{scalars['loss']:.4f}")
    stopping = step == run.stop_at
    if process.is_main and (step % run.checkpoint_every == 0 or step == run.steps or stopping):
        save()
    return stopping
