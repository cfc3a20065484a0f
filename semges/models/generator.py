"""Stage 2: the SemGes generator.

Audio features, frame-aligned text features, a speaker id and a handedness flag go in; per
frame and per body part, a continuous latent and logits over the frozen stage-1 codebook come
out. Each part (upper body, hands, lower body + root) has its own branch, as in SemGes:

    audio (B, T, A) -> normalise (global training statistics) -> linear
      -> + speaker embedding + handedness embedding -> conv(k=5) -> layer norm per frame
      -> + sinusoidal positions -> N x [self-attention, cross-attention to text, feed-forward]
      -> linear heads -> latent (B, T, C) and code logits (B, T, K)

Two lessons measured on the first checkpoint shape this:
- the audio is normalised with global statistics and then per frame, never per window: a
  per-window instance norm stretched a silent window's features to the size of speech, and the
  body never rested;
- a mirrored training window carries a handedness flag: with the same speech paired with a
  gesture and its mirror image, the model learned their average and both arms moved in
  lockstep (left/right wrist-height correlation 0.97 against 0.60 real).
The code logits (cross-entropy to the ground-truth code, as EMAGE does) pick the code at
inference: regressing the latent with MSE and snapping it to the nearest code pulled every
gesture toward the mean pose, and their softmax gives a temperature a meaning.

The text sequence (B, T, text_dim) is projected to the model width; frames with no word get a
learned PAD vector. Two more learned inputs stand for what is not known: NULL_AUDIO replaces
the (normalised) audio features and UNKNOWN_WORDS the text of a window whose speech is withheld.
Training withholds the words, or the whole speech, of random windows, so the same weights are
also an unconditional model (classifier-free guidance, Ho & Salimans 2022: the pipeline scales
the conditional logits' difference from the unconditional ones) and a model that runs on the
audio alone while the words are late (live use). UNKNOWN_WORDS differs from PAD: PAD says
"nobody speaks here", UNKNOWN_WORDS "someone may speak, the words are not known".

A per-part projection of the text embedding into the latent space is what the semantic
coherence loss aligns with the ground-truth motion latents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from semges.models.configs import GeneratorConfig
from semges.serialization import PretrainedModel

NUM_HANDEDNESS: int = 2  # 0: the recorded motion, 1: its left/right mirror image


@dataclass
class GeneratorOutput:
    latents: dict[str, torch.Tensor]  # part -> (B, T, latent_dim) predicted continuous latents
    code_logits: dict[str, torch.Tensor]  # part -> (B, T, codebook_size) logits over the codes
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
        self.handedness_embedding = nn.Embedding(NUM_HANDEDNESS, c.d_model)
        self.fusion_conv = nn.Conv1d(
            c.d_model,
            c.d_model,
            c.conv_kernel,
            padding=c.conv_kernel // 2,
            padding_mode="replicate",
        )
        self.fusion_norm = nn.LayerNorm(c.d_model)  # per frame: silence stays quieter than speech
        self.activation = nn.GELU()
        block = nn.TransformerDecoderLayer(
            d_model=c.d_model,
            nhead=c.num_heads,
            dim_feedforward=c.ffn_dim,
            dropout=c.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.blocks = nn.TransformerDecoder(
            block, num_layers=c.num_layers, norm=nn.LayerNorm(c.d_model)
        )
        self.head = nn.Linear(c.d_model, c.latent_dim)
        self.code_head = nn.Linear(c.d_model, c.codebook_size)

    def forward(
        self,
        audio: torch.Tensor,
        text: torch.Tensor,
        speaker_index: torch.Tensor,
        handedness: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """audio (B, T, A) normalised, text (B, T, d_model), speaker_index (B,), handedness (B,)
        long -> latents (B, T, C) and code logits (B, T, K)."""
        condition = self.speaker_embedding(speaker_index) + self.handedness_embedding(handedness)
        x = self.audio_projection(audio) + condition[:, None]
        fused = self.fusion_conv(x.transpose(1, 2)).transpose(1, 2)
        x = self.activation(self.fusion_norm(fused))
        positions = sinusoidal_positions(
            x.shape[1], x.shape[2], self.config.positional_base, x.device
        )
        # The text memory carries the same positions as the frames: without them a frame's
        # cross-attention sees which words the window holds but not when each is spoken, and
        # the words cannot time the gestures (tests/test_speech_timing.py: a tiny model learns
        # gestures that start at word onsets only with them).
        hidden = self.blocks(x + positions, text + positions)  # (B, T, d_model)
        return self.head(hidden), self.code_head(hidden)


class SemGesGenerator(PretrainedModel):
    """Speech (audio + text) and speaker -> per-part motion latents, one per frame."""

    config_class = GeneratorConfig

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.text_projection = nn.Linear(c.text_dim, c.d_model)
        self.pad_embedding = nn.Parameter(torch.zeros(c.d_model))
        self.unknown_words_embedding = nn.Parameter(torch.zeros(c.d_model))
        self.null_audio = nn.Parameter(torch.zeros(c.audio_dim))  # in normalised units
        self.branches = nn.ModuleDict({part: PartBranch(c) for part in c.parts})
        self.text_to_latent = nn.ModuleDict(
            {part: nn.Linear(c.d_model, c.latent_dim) for part in c.parts}
        )
        self.register_buffer("audio_mean", torch.zeros(c.audio_dim))
        self.register_buffer("audio_std", torch.ones(c.audio_dim))
        # log of how often each code occurs in the training motion, per part (row order of
        # config.parts); all zeros (uniform) until training sets it
        self.register_buffer("code_log_prior", torch.zeros(len(c.parts), c.codebook_size))

    def set_audio_normalization(
        self, mean: torch.Tensor, std: torch.Tensor, min_std: float
    ) -> None:
        """Store per-channel statistics of the training audio features (A,)."""
        self.audio_mean.copy_(mean)
        self.audio_std.copy_(std.clamp(min=min_std))

    def set_code_prior(self, part: str, counts: torch.Tensor) -> None:
        """Store the log frequency of each of the part's codes (K,) counts in the training
        motion (add-one smoothed, so no code has probability 0)."""
        smoothed = counts.float() + 1.0
        self.code_log_prior[self.config.parts.index(part)] = torch.log(smoothed / smoothed.sum())

    def prior_corrected_logits(
        self, code_logits: dict[str, torch.Tensor], strength: float
    ) -> dict[str, torch.Tensor]:
        """Code logits (part -> (B, T, K)) minus ``strength`` times the code log prior, per part.

        A classifier trained on little data learns the codes' frequencies along with the
        speech; its most likely code leans to the common, small, hands-low poses. Removing
        the prior (logit adjustment, Menon et al. 2021) scores codes by how much the speech
        raises them over their base rate: the range of the real motion comes back.
        """
        return {
            part: logits - strength * self.code_log_prior[self.config.parts.index(part)]
            for part, logits in code_logits.items()
        }

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
        mirrored: torch.Tensor | None = None,
        words_withheld: torch.Tensor | None = None,
        speech_withheld: torch.Tensor | None = None,
    ) -> GeneratorOutput:
        """audio (B, T, A), text (B, T, text_dim), word_mask (B, T) bool, speaker_id (B,) long,
        mirrored (B,) bool: the motion to make is the mirror image of the speaker's own
        handedness (training on mirrored windows); None means all False.
        words_withheld (B,) bool: those windows' words are unknown (UNKNOWN_WORDS replaces
        the text), or (B, T) bool: those frames' words are unknown (live recognition: the
        words of the last second or two are not in yet); speech_withheld (B,) bool: their
        audio and words are both unknown (the unconditional model). None means all False."""
        audio = (audio - self.audio_mean) / self.audio_std
        text_embedding = self.embed_text(text, word_mask)
        unknown = None
        if words_withheld is not None:
            unknown = words_withheld[:, None] if words_withheld.ndim == 1 else words_withheld
        if speech_withheld is not None:
            audio = torch.where(speech_withheld[:, None, None], self.null_audio, audio)
            unknown = (
                speech_withheld[:, None] if unknown is None else unknown | speech_withheld[:, None]
            )
        if unknown is not None:
            text_embedding = torch.where(
                unknown[..., None], self.unknown_words_embedding, text_embedding
            )
        speaker_index = self.speaker_index(speaker_id)
        if mirrored is None:
            mirrored = torch.zeros_like(speaker_id, dtype=torch.bool)
        handedness = mirrored.long()
        latents, code_logits = {}, {}
        for part, branch in self.branches.items():
            latents[part], code_logits[part] = branch(
                audio, text_embedding, speaker_index, handedness
            )
        text_latents = {
            part: projection(text_embedding) for part, projection in self.text_to_latent.items()
        }
        return GeneratorOutput(latents=latents, code_logits=code_logits, text_latents=text_latents)
