"""The models' frozen configs, torch-free: training configs and command lines import them
without loading torch. Each travels with its model's weights (``config.json``); the model
modules re-export them (``semges.models.generator.GeneratorConfig`` and so on).
"""

from __future__ import annotations

from dataclasses import dataclass

from semges import layout


@dataclass(frozen=True)
class VQVAEConfig:
    part: str = layout.UPPER_BODY.name  # a key of semges.layout.GENERATED_PARTS
    hidden_dim: int = 256  # channels of the convolutional encoder and decoder
    num_res_blocks: int = 2  # residual blocks in the encoder and in the decoder
    kernel_size: int = 3  # temporal kernel of every convolution
    code_dim: int = 512  # size of a latent / code vector (SemGes: 512)
    codebook_size: int = 256  # number of codes K (SemGes: 256)
    ema_decay: float = 0.99  # codebook EMA decay
    commitment_weight: float = 0.25  # weight of ||z - sg(q)||^2 in the quantizer loss
    kmeans_init: bool = True  # initialise the codebook with k-means on the first batch
    dead_code_threshold: int = 2  # codes used fewer times per batch (EMA) are re-seeded

    def __post_init__(self) -> None:
        if self.part not in layout.GENERATED_PARTS:
            raise ValueError(f"part must be one of {list(layout.GENERATED_PARTS)}, got {self.part}")

    @property
    def input_dim(self) -> int:
        """Size of one frame of this part: joints * 6 (6D rotations)."""
        return layout.GENERATED_PARTS[self.part].rot6d_dim


@dataclass(frozen=True)
class GeneratorConfig:
    audio_dim: int = 388  # Whisper tiny.en encoder states (384) + prosody channels
    text_dim: int = 384  # all-MiniLM-L6-v2 token states
    num_speakers: int = 30  # BEAT2 speaker ids 1..num_speakers
    parts: tuple[str, ...] = tuple(layout.GENERATED_PARTS)
    latent_dim: int = 512  # must equal the VQ-VAEs' code_dim
    codebook_size: int = 256  # must equal the VQ-VAEs' codebook_size (K of the code logits)
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
            raise ValueError(
                f"unknown parts {sorted(unknown)}; known: {list(layout.GENERATED_PARTS)}"
            )
        if self.d_model % self.num_heads:
            raise ValueError("d_model must be divisible by num_heads")


@dataclass(frozen=True)
class FaceConfig:
    audio_dim: int = 388  # Whisper tiny.en encoder states (384) + prosody channels
    text_dim: int = 384  # all-MiniLM-L6-v2 token states
    hidden_dim: int = 128  # channels of the temporal convolutions
    text_hidden_dim: int = 32  # width of the projected word embedding
    kernel_size: int = 5  # temporal kernel of each dilated convolution
    dilations: tuple[int, ...] = (1, 2, 4, 8)  # one residual block per entry
    input_dropout: float = 0.2  # on the normalised audio features, training only
    dropout: float = 0.1  # inside the residual blocks, training only

    def __post_init__(self) -> None:
        if self.kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd (centred, length-preserving convolutions)")
        if not self.dilations or min(self.dilations) < 1:
            raise ValueError("dilations must be a non-empty tuple of positive integers")

    @property
    def receptive_field(self) -> int:
        """Frames of input that one output frame sees."""
        return 1 + (self.kernel_size - 1) * sum(self.dilations)
