"""Pick codebook indices from the generator's code logits, with a temperature.

Temperature 0 takes the most likely code of every frame (deterministic). Above 0, a code is
drawn from softmax(logits / temperature) with the Gumbel-max trick: argmax(logits / t + g),
g standard Gumbel noise. Drawing fresh noise every frame makes neighbouring frames pick
unrelated codes and the motion flickers; here the noise of each code is held for
``hold_frames`` frames and then redrawn. Every frame still samples exactly from its own
softmax (the noise at one frame is i.i.d. Gumbel over the codes), but a frame repeats its
neighbour's choice unless the logits changed, so variation comes as different gestures, not
jitter.
"""

from __future__ import annotations

import math

import torch


def gumbel_noise(shape: tuple[int, ...], generator: torch.Generator | None,
                 device: torch.device) -> torch.Tensor:
    """Standard Gumbel samples -log(-log(u)), u uniform in (0, 1)."""
    uniform = torch.rand(shape, generator=generator, device=device)
    tiny = torch.finfo(uniform.dtype).tiny
    return -torch.log(-torch.log(uniform.clamp(min=tiny, max=1 - 1e-7)))


def sample_codes(logits: torch.Tensor, temperature: float, generator: torch.Generator | None,
                 hold_frames: int) -> torch.Tensor:
    """(B, T, K) code logits -> (B, T) code indices.

    ``temperature`` 0: argmax. Above 0: per-frame samples of softmax(logits / temperature),
    the Gumbel noise held for ``hold_frames`` frames (1: independent every frame).
    """
    if temperature < 0:
        raise ValueError("temperature must be >= 0")
    if hold_frames < 1:
        raise ValueError("hold_frames must be >= 1")
    if temperature == 0:
        return logits.argmax(dim=-1)
    batch, frames, codes = logits.shape
    segments = math.ceil(frames / hold_frames)
    noise = gumbel_noise((batch, segments, codes), generator, logits.device)
    noise = noise.repeat_interleave(hold_frames, dim=1)[:, :frames]  # (B, T, K)
    return (logits.float() / temperature + noise).argmax(dim=-1)

