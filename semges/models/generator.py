"""Stage 2: the SemGes generator.

Audio features, frame-aligned text features and a speaker id go in; a continuous latent per
frame and per body part comes out, to be snapped to the frozen stage-1 codebook and decoded by
the frozen VQ decoder. Each part (upper body, hands) has its own branch, as in SemGes:

    audio (B, T, A) -> normalise -> linear -> + speaker embedding -> conv(k=5) + instance norm
      -> + sinusoidal positions -> N x [self-attention, cross-attention to text, feed-forward]
      -> linear head -> latent (B, T, C)

The text sequence (B, T, text_dim) is projected to the model width; frames with no word get a
learned PAD vector. A per-part projection of the text embedding into the latent space is what
the semantic coherence loss aligns with the ground-truth motion latents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from semges import layout
from semges.serialization import PretrainedModel


@dataclass(frozen=True)
class GeneratorConfig:
    audio_dim: int = 388  # Whisper tiny.en encoder states (384) + prosody channels
    text_dim: int = 384  # all-MiniLM-L6-v2 token states
    num_speakers: int = 30  # BEAT2 speaker ids 1..num_speakers
    parts: tuple[str, ...] = (layout.UPPER_BODY.name, layout.HANDS.name)
    latent_dim: int = 512  # must equal the VQ-VAEs' code_dim
    d_model: int = 256  # SemGes: 256
    num_heads: int = 8  # SemGes: 8
    num_layers: int = 12  # SemGes: 12 blocks
    ffn_dim: int = 384  # SemGes: 384
    conv_kernel: int = 5  # temporal kernel of the audio fusion convolution
    dropout: float = 0.1
    window: int = 64  # training window length in frames; inference runs windows of this size
    positional_base: float = 10000.0  # wavelength base of the sinusoidal positions

    def __post_init__(self) -> None:
        unknown = set(self.parts) - set(layout.GENERATED_PARTS)
        if unknown:
            raise ValueError(f"unknown parts {sorted(unknown)}; known: {list(layout.GENERATED_PARTS)}")
        if self.d_model % self.num_heads:
            raise ValueError("d_model must be divisible by num_heads")


@dataclass
class GeneratorOutput:
    latents: dict[str, torch.Tensor]  # part -> (B, T, latent_dim) predicted continuous latents
    text_latents: dict[str, torch.Tensor]  # part -> (B, T, latent_dim) text projected per part


def sinusoidal_positions(length: int, dim: int, base: float, device: torch.device) -> torch.Tensor:
    """(length, dim) the fixed sine/cosine position table of "Attention is all you need"."""
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    frequency = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(base) / dim)
    )
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table


class PartBranch(nn.Module):
    """The audio-driven transformer of one body part, cross-attending to the text sequence."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        c = config
        self.config = config
        self.audio_projection = nn.Linear(c.audio_dim, c.d_model)
        self.speaker_embedding = nn.Embedding(c.num_speakers, c.d_model)
        self.fusion_conv = nn.Conv1d(c.d_model, c.d_model, c.conv_kernel, padding=c.conv_kernel // 2,
                                     padding_mode="replicate")
        self.fusion_norm = nn.InstanceNorm1d(c.d_model, affine=True)
        self.activation = nn.GELU()
        block = nn.TransformerDecoderLayer(
            d_model=c.d_model, nhead=c.num_heads, dim_feedforward=c.ffn_dim, dropout=c.dropout,
            activation="gelu", batch_first=True, norm_first=True,
        )
        self.blocks = nn.TransformerDecoder(block, num_layers=c.num_layers,
                                            norm=nn.LayerNorm(c.d_model))
        self.head = nn.Linear(c.d_model, c.latent_dim)

    def forward(self, audio: torch.Tensor, text: torch.Tensor, speaker_index: torch.Tensor) -> torch.Tensor:
        """audio (B, T, A) normalised, text (B, T, d_model), speaker_index (B,) -> (B, T, C)."""
        x = self.audio_projection(audio) + self.speaker_embedding(speaker_index)[:, None]
        fused = self.fusion_norm(self.fusion_conv(x.transpose(1, 2))).transpose(1, 2)
        x = self.activation(fused)
        x = x + sinusoidal_positions(x.shape[1], x.shape[2], self.config.positional_base, x.device)
        return self.head(self.blocks(x, text))  # (B, T, C)


class SemGesGenerator(PretrainedModel):
    """Speech (audio + text) and speaker -> per-part motion latents, one per frame."""

    config_class = GeneratorConfig

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.text_projection = nn.Linear(c.text_dim, c.d_model)
        self.pad_embedding = nn.Parameter(torch.zeros(c.d_model))
        self.branches = nn.ModuleDict({part: PartBranch(c) for part in c.parts})
        self.text_to_latent = nn.ModuleDict({part: nn.Linear(c.d_model, c.latent_dim)
                                             for part in c.parts})
        self.register_buffer("audio_mean", torch.zeros(c.audio_dim))
        self.register_buffer("audio_std", torch.ones(c.audio_dim))

    def set_audio_normalization(self, mean: torch.Tensor, std: torch.Tensor, min_std: float) -> None:
        """Store per-channel statistics of the training audio features (A,)."""
        self.audio_mean.copy_(mean)
        self.audio_std.copy_(std.clamp(min=min_std))

    def speaker_index(self, speaker_id: torch.Tensor) -> torch.Tensor:
        """BEAT2 speaker ids (1-based) -> embedding rows; raises on ids out of range."""
        if speaker_id.min() < 1 or speaker_id.max() > self.config.num_speakers:
            raise ValueError(f"speaker ids must be in 1..{self.config.num_speakers}")
        return speaker_id - 1

    def embed_text(self, text: torch.Tensor, word_mask: torch.Tensor) -> torch.Tensor:
        """text (B, T, text_dim), word_mask (B, T) bool -> (B, T, d_model), PAD where no word."""
        projected = self.text_projection(text)
        return torch.where(word_mask[..., None], projected, self.pad_embedding)

    def forward(
        self,
        audio: torch.Tensor,
        text: torch.Tensor,
        word_mask: torch.Tensor,
        speaker_id: torch.Tensor,
    ) -> GeneratorOutput:
        """audio (B, T, A), text (B, T, text_dim), word_mask (B, T) bool, speaker_id (B,) long."""
        audio = (audio - self.audio_mean) / self.audio_std
        text_embedding = self.embed_text(text, word_mask)
        speaker_index = self.speaker_index(speaker_id)
        latents = {part: branch(audio, text_embedding, speaker_index)
                   for part, branch in self.branches.items()}
        text_latents = {part: projection(text_embedding)
                        for part, projection in self.text_to_latent.items()}
        return GeneratorOutput(latents=latents, text_latents=text_latents)
