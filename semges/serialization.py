"""Save and load models as ``config.json`` + ``model.safetensors`` folders.

Every model class takes one frozen dataclass config. ``save_pretrained`` writes that config and
the unwrapped module's weights; ``from_pretrained`` rebuilds the model from the config alone and
loads the weights strictly, so a missing or unexpected tensor is an error, never a silent skip.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, ClassVar, Self

import safetensors.torch
import torch
from torch import nn

from semges.atomic_files import atomic_folder

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


class CheckpointError(ValueError):
    """A checkpoint folder is missing, incomplete or does not match the model class."""


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (possibly nested) dataclass config; tuples become lists."""
    return dataclasses.asdict(config)


def config_from_dict(config_class: type, values: dict[str, Any]) -> Any:
    """Rebuild a frozen dataclass config, turning lists back into tuples for tuple fields."""
    known = {f.name: f for f in dataclasses.fields(config_class)}
    unknown = set(values) - set(known)
    if unknown:
        raise CheckpointError(f"{config_class.__name__} has no fields {sorted(unknown)}")
    converted = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return config_class(**converted)


def unwrap_module(module: nn.Module) -> nn.Module:
    """The plain module inside DDP (``.module``) or ``torch.compile`` (``._orig_mod``) wrappers."""
    while True:
        if isinstance(module, nn.parallel.DistributedDataParallel):
            module = module.module
        elif hasattr(module, "_orig_mod"):
            module = module._orig_mod
        else:
            return module


def write_folder_atomically(folder: Path, write: Any) -> Path:
    """Call ``write(tmp_folder)`` and move the result to ``folder`` only when it succeeded."""
    folder = Path(folder)
    with atomic_folder(folder) as staging:
        write(staging)
    return folder


class PretrainedModel(nn.Module):
    """Base for models saved as ``config.json`` + ``model.safetensors``.

    Subclasses set ``config_class`` and take a single ``config`` argument in ``__init__``.
    """

    config_class: ClassVar[type]
    config: Any

    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        def write(staging: Path) -> None:
            (staging / CONFIG_FILE).write_text(json.dumps(config_to_dict(self.config), indent=2))
            safetensors.torch.save_model(unwrap_module(self), str(staging / WEIGHTS_FILE))

        return write_folder_atomically(Path(folder), write)

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, device: str | torch.device = "cpu") -> Self:
        folder = Path(folder)
        config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
        for path in (config_path, weights_path):
            if not path.is_file():
                raise CheckpointError(f"{cls.__name__} checkpoint is missing {path}")
        config = config_from_dict(cls.config_class, json.loads(config_path.read_text()))
        model = cls(config)
        missing, unexpected = safetensors.torch.load_model(
            model, str(weights_path), strict=False, device=str(device)
        )
        if missing or unexpected:
            raise CheckpointError(
                f"{weights_path} does not match {cls.__name__}: missing {sorted(missing)}, "
                f"unexpected {sorted(unexpected)}"
            )
        return model.eval()
