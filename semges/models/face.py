"""The face: jaw rotation and FLAME expression coefficients regressed from speech.

The body parts are chosen from VQ codebooks; the face is a separate, small, deterministic
regressor, so it can be trained (and retrained) without touching the body checkpoint:

    audio (B, T, A) -> normalise (global training statistics) -> dropout -> linear ─┐
    text (B, T, text_dim) -> linear, a learned PAD vector where no word is spoken ──┴ concat
      -> 1x1 conv -> N residual blocks [GELU, dilated conv (kernel k), GELU, 1x1 conv]
      -> 1x1 conv -> (B, T, FACE_DIM) normalised face -> * std + mean

Fully convolutional: any length runs in one pass (receptive field
``1 + (kernel - 1) * sum(dilations)`` frames), and the output of a frame does not depend on
the batch or on frames beyond the receptive field. A face frame is the jaw as a 6D rotation
followed by the ``NUM_EXPRESSIONS`` expression coefficients (:data:`semges.layout.FACE_DIM`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from semges import layout
from semges.models.configs import FaceConfig
from semges.rotations import flat_rot6d_to_axis_angle
from semges.serialization import PretrainedModel

FACE_CHUNK_FRAMES: int = 8192
"""Output frames (4.6 minutes) the face model computes at once in :meth:`FaceModel.predict`."""


@dataclass
class FaceFrames:
    """The face of T frames, as the BEAT2 ``.npz`` stores it (float32)."""

    jaw: np.ndarray  # (T, 3) axis-angle of the jaw joint, radians
    expressions: np.ndarray  # (T, NUM_EXPRESSIONS) FLAME expression coefficients


class DilatedBlock(nn.Module):
    """x + 1x1(GELU(dilated conv(GELU(x)))), length kept (replicate padding)."""

    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.GELU(),
            nn.Conv1d(
                channels,
                channels,
                kernel_size,
                dilation=dilation,
                padding=dilation * (kernel_size // 2),
                padding_mode="replicate",
            ),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Conv1d(channels, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T)
        return x + self.body(x)


class FaceModel(PretrainedModel):
    """Speech features -> (B, T, FACE_DIM) jaw 6D rotation + expression coefficients.

    ``audio_mean`` / ``audio_std`` normalise the audio features and ``face_mean`` /
    ``face_std`` scale the output; ``rest_face`` is the face at rest (the speaker's face in
    long pauses: mouth closed), which :meth:`predict` eases toward where an envelope says so.
    Training sets all of them from its data (saved with the weights); until then the output
    and the rest face are the neutral face: identity jaw, zero expressions.
    """

    config_class = FaceConfig

    def __init__(self, config: FaceConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.audio_dropout = nn.Dropout(c.input_dropout)
        self.audio_projection = nn.Linear(c.audio_dim, c.hidden_dim)
        self.text_projection = nn.Linear(c.text_dim, c.text_hidden_dim)
        self.pad_embedding = nn.Parameter(torch.zeros(c.text_hidden_dim))
        self.fuse = nn.Conv1d(c.hidden_dim + c.text_hidden_dim, c.hidden_dim, 1)
        self.blocks = nn.Sequential(
            *[DilatedBlock(c.hidden_dim, c.kernel_size, d, c.dropout) for d in c.dilations]
        )
        self.head = nn.Sequential(nn.GELU(), nn.Conv1d(c.hidden_dim, layout.FACE_DIM, 1))
        self.register_buffer("audio_mean", torch.zeros(c.audio_dim))
        self.register_buffer("audio_std", torch.ones(c.audio_dim))
        rest_jaw = torch.eye(3)[:2].flatten()  # 6D of the identity rotation
        neutral = torch.cat([rest_jaw, torch.zeros(layout.NUM_EXPRESSIONS)])  # (FACE_DIM,)
        self.register_buffer("face_mean", neutral)
        self.register_buffer("face_std", torch.ones(layout.FACE_DIM))
        self.register_buffer("rest_face", self.face_mean.clone())

    def set_normalization(
        self,
        audio_mean: torch.Tensor,
        audio_std: torch.Tensor,
        face_mean: torch.Tensor,
        face_std: torch.Tensor,
        min_std: float,
    ) -> None:
        """Per-channel statistics of the training audio (A,) and face (FACE_DIM,); each std is
        floored at ``min_std``."""
        self.audio_mean.copy_(audio_mean)
        self.audio_std.copy_(audio_std.clamp(min=min_std))
        self.face_mean.copy_(face_mean)
        self.face_std.copy_(face_std.clamp(min=min_std))

    def set_rest_face(self, rest_face: torch.Tensor) -> None:
        """The (FACE_DIM,) face that silence eases toward."""
        self.rest_face.copy_(rest_face)

    def normalize_face(self, face: torch.Tensor) -> torch.Tensor:
        """(..., FACE_DIM) face -> the normalised space the network predicts in."""
        return (face - self.face_mean) / self.face_std

    def forward(
        self, audio: torch.Tensor, text: torch.Tensor, word_mask: torch.Tensor
    ) -> torch.Tensor:
        """audio (B, T, A), text (B, T, text_dim), word_mask (B, T) bool -> (B, T, FACE_DIM)
        normalised face (see :meth:`normalize_face`)."""
        audio = self.audio_dropout((audio - self.audio_mean) / self.audio_std)
        words = torch.where(word_mask[..., None], self.text_projection(text), self.pad_embedding)
        x = torch.cat([self.audio_projection(audio), words], dim=-1)  # (B, T, H + text_hidden)
        x = self.blocks(self.fuse(x.transpose(1, 2)))  # (B, H, T)
        return self.head(x).transpose(1, 2)

    @torch.inference_mode()
    def predict(
        self,
        audio: np.ndarray,
        text: np.ndarray,
        word_mask: np.ndarray,
        envelope: np.ndarray | None = None,
        gain: float = 1.0,
    ) -> FaceFrames:
        """One clip of any length T: audio (T, A), text (T, text_dim), word_mask (T,) ->
        the face of its T frames. ``gain`` scales the predicted face's deviation from
        ``face_mean`` (a regressor trained on little data hedges toward the mean face);
        ``envelope`` (T,) in [0, 1] then weights it against ``rest_face`` (None: all 1).
        Deterministic: call it in eval mode."""
        if self.training:
            raise RuntimeError("FaceModel.predict needs eval mode (dropout off)")
        normalized = self._predict_in_chunks(audio, text, word_mask)  # (T, F)
        face = (gain * normalized * self.face_std + self.face_mean).float().cpu()  # (T, F)
        if envelope is not None:
            rest = self.rest_face.float().cpu()
            face = rest + torch.from_numpy(envelope).float()[:, None] * (face - rest)
        jaw_dim = layout.FACE_JAW.rot6d_dim
        return FaceFrames(
            jaw=flat_rot6d_to_axis_angle(face[:, :jaw_dim]).numpy(),
            expressions=face[:, jaw_dim:].numpy(),
        )

    def _predict_in_chunks(
        self, audio: np.ndarray, text: np.ndarray, word_mask: np.ndarray
    ) -> torch.Tensor:
        """(T, FACE_DIM) normalised face, computed over chunks of at most
        :data:`FACE_CHUNK_FRAMES` output frames, each read with half a receptive field of
        context on both sides: the same frames as one pass over the clip, with activations
        bounded at any length (one pass over an hour held gigabytes)."""
        device = self.audio_mean.device
        margin = self.config.receptive_field // 2
        num_frames = audio.shape[0]
        chunks = []
        for start in range(0, num_frames, FACE_CHUNK_FRAMES):
            stop = min(start + FACE_CHUNK_FRAMES, num_frames)
            read = slice(max(0, start - margin), min(num_frames, stop + margin))
            output = self(
                torch.from_numpy(audio[read]).float()[None].to(device),
                torch.from_numpy(text[read]).float()[None].to(device),
                torch.from_numpy(word_mask[read]).bool()[None].to(device),
            )[0]
            chunks.append(output[start - read.start : stop - read.start])
        return torch.cat(chunks)
