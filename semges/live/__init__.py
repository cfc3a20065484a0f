"""Live gestures: a body that moves with the voice while the speech arrives.

    from semges.live import LiveGenerator
    live = LiveGenerator.from_pretrained("assets/checkpoint", speaker=2, seed=0)
    clip = live.push(samples)  # float32 mono 16 kHz of any length: the frames now final
    clip = live.flush()  # the rest

See :mod:`semges.live.generator` for how, :mod:`semges.live.features` for the features and
``python -m training.live`` for the models it needs.
"""

from semges.live.config import LiveConfig, NoLiveModels
from semges.live.features import StreamingFeatureConfig
from semges.live.generator import LiveGenerator

__all__ = ["LiveConfig", "LiveGenerator", "NoLiveModels", "StreamingFeatureConfig"]
