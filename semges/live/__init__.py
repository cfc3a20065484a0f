"""Live gestures: a body that moves with the voice while the speech arrives.

    from semges.live import LiveGenerator
    live = LiveGenerator.from_pretrained("assets/checkpoint", speaker=2, seed=0)
    clip = live.push(samples)  # float32 mono 16 kHz of any length: the frames now final
    clip = live.flush()  # the rest

See :mod:`semges.live.generator` for how, :mod:`semges.live.features` for the features,
:mod:`semges.live.words` for the streaming word recognition, ``python -m training.live`` for
the models it needs and :mod:`semges.live.vmc` for sending the frames to an avatar app (the VMC
protocol). The names are imported on first use, so the command line's parser
(``semges.live.command``) loads no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LiveConfig": "semges.live.config",
    "NoLiveModels": "semges.live.config",
    "StreamingFeatureConfig": "semges.live.features",
    "StreamingWordConfig": "semges.live.words",
    "LiveGenerator": "semges.live.generator",
    "VmcSender": "semges.live.vmc",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'semges.live' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
