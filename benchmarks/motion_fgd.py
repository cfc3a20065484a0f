"""FGD in the motion benchmark: the Frechet distance between sets of clips in the feature
space of the shipped autoencoder (:mod:`training.fgd_model`)."""

from __future__ import annotations

import numpy as np

from semges import metrics
from semges.motion import MotionClip
from training.fgd_model import FGDAutoencoder, fgd_features, part_rot6d


def frechet(
    autoencoder: FGDAutoencoder, real: list[MotionClip], generated: list[MotionClip]
) -> float:
    """semges FGD (features of the shipped training/fgd_model.py autoencoder) between two sets
    of clips."""

    def features(clips: list[MotionClip]) -> np.ndarray:
        return fgd_features(autoencoder, [part_rot6d(c) for c in clips]).numpy()

    return metrics.frechet_distance(features(real), features(generated))
