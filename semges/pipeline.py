"""The SemGes pipeline: speech in, SMPL-X motion out.

A pipeline folder holds ``pipeline.json`` (format, inference settings, speech front-end, and
each component with its class) and one ``config.json`` + ``model.safetensors`` folder per
component, named as the component: the generator, one VQ-VAE per generated part and,
optionally, the face regressor (jaw + expressions; a folder without it still loads and leaves
the face at rest). Only the pipeline writes ``pipeline.json`` (:meth:`SemGesPipeline.save_pretrained`,
:meth:`SemGesPipeline.save_component`); ``SemGesPipeline.from_pretrained(folder)`` builds each
component from the class listed there, as diffusers' ``model_index.json`` does:

    "components": {"generator": ["semges.models.generator", "SemGesGenerator"],
                   "vqvae_upper_body": ["semges.models.vqvae", "MotionVQVAE"], ...,
                   "face": ["semges.models.face", "FaceModel"]}

    pipeline = SemGesPipeline.from_pretrained("assets/checkpoint")
    result = pipeline("speech.wav", speaker="scott", seed=0)       # or speaker=2
    save_motion(result.motion, "motion.npz")
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from semges import layout
from semges.activity_envelope import activity_envelope
from semges.atomic_files import atomic_output
from semges.models import MotionVQVAE, SemGesGenerator
from semges.models.code_sampling import (
    sample_held_codes,
    segment_noise,
    segment_starts,
    window_segments,
    word_onset_frames,
)
from semges.models.face import FaceModel
from semges.motion import MotionClip
from semges.planted_translation import planted_translation
from semges.progress import Stage, StageCallback, ignore_progress
from semges.sampling import DEFAULT_TEMPERATURE, check_seed, check_temperature
from semges.serialization import (
    CheckpointError,
    PretrainedModel,
    config_from_dict,
    write_folder_atomically,
)
from semges.speakers import BEAT2_SPEAKERS, DEFAULT_SPEAKER, speaker_id
from semges.speech import SpeechFeatures, Word
from semges.speech.audio import AudioInput
from semges.speech.frontend import FrontendConfig
from semges.windows import gaussian_smooth, pad_to_window, plan_windows, run_windowed

if TYPE_CHECKING:
    from semges.speech.frontend import SpeechFrontend

PIPELINE_FILE = "pipeline.json"
PIPELINE_FORMAT = "semges-pipeline"
PIPELINE_FORMAT_VERSION = 4
"""2: code heads, the lower part; 3: speech-timed sampling, guidance; 4: each component listed
with its class (version 3 folders still load: the same models, listed by role)."""
READABLE_FORMAT_VERSIONS = (3, PIPELINE_FORMAT_VERSION)
# A component is named as its folder in a pipeline folder.
GENERATOR_FOLDER = "generator"
FACE_FOLDER = "face"  # optional (older folders lack it)
_VERSION_3_CLASSES = {
    "generator": ("semges.models.generator", "SemGesGenerator"),
    "vqvae": ("semges.models.vqvae", "MotionVQVAE"),
    "face": ("semges.models.face", "FaceModel"),
}  # by role ("vqvae/<part>")


@dataclass(frozen=True)
class InferenceConfig:
    overlap: int = 16  # frames shared by neighbouring windows, crossfaded
    batch_windows: int = 32  # windows predicted at once; bounds memory
    # one code per part and speech segment; segments start at word onsets and last
    min_segment_frames: int = 10  # at least 0.33 s: a burst of short words is one gesture
    max_segment_frames: int = 30  # at most 1 s: long words and pauses still change gesture
    # classifier-free guidance on the speech (1: none) for the parts in guided_parts. Chosen
    # with min_segment_frames on held-out speech (benchmarks/motion_quality.md, "What drives
    # the motion", and the model card): guiding the upper body lets the speech time the hands;
    # guiding the lower part (root and legs) too keeps a long talk upright; guiding the
    # fingers as well only moved the motion away from the real clip (FGD).
    guidance_scale: float = 3.0
    guided_parts: tuple[str, ...] = (layout.UPPER_BODY.name, layout.LOWER.name)
    prior_correction: float = 1.2  # how much of the codes' training frequency to discount
    smoothing_frames: float = 2.0  # std (frames) of a Gaussian over time on decoded rotations
    hold_after_words_s: float = 0.75  # gesturing goes on this long after (and before) words
    settle_s: float = 0.5  # ease to the rest pose in long pauses and over a clip's last frames
    # time constant pulling the standing position to the origin: 8 s keeps a ten-minute talk
    # within a metre of its start with speech-guided legs (which step more: 12 s let it wander)
    recenter_time_s: float = 8.0
    face_hold_after_words_s: float = 0.25  # the mouth moves this long after (and before) words
    face_settle_s: float = 0.25  # then closes (eases to the rest face) over this long
    face_gain: float = 1.3  # scales the face's deviation from its mean face (see the card)


@dataclass
class GeneratedMotion:
    """What the pipeline made from one speech: the motion, and the words and features it was
    generated from."""

    motion: MotionClip
    words: list[Word]
    features: SpeechFeatures


def vqvae_folder(part: str) -> str:
    return f"vqvae_{part}"


def _read_manifest(folder: Path) -> dict[str, Any]:
    """``folder``'s ``pipeline.json``, checked, its components as name -> [module, class]."""
    manifest_path = folder / PIPELINE_FILE
    if not manifest_path.is_file():
        raise CheckpointError(
            f"{folder} is not a semges checkpoint (no {PIPELINE_FILE}). Train one with "
            "`python -m training.default_checkpoint` or pass --checkpoint DIR."
        )
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as error:
        raise CheckpointError(f"cannot read {manifest_path}: {error}") from error
    if manifest.get("format") != PIPELINE_FORMAT:
        raise CheckpointError(f"{manifest_path} is not a {PIPELINE_FORMAT} manifest")
    version = manifest.get("format_version")
    if version not in READABLE_FORMAT_VERSIONS:
        raise CheckpointError(
            f"{manifest_path} has format version {version}; this semges reads versions "
            f"{' and '.join(map(str, READABLE_FORMAT_VERSIONS))}: retrain it with this version "
            "(`make checkpoint` for the default one)"
        )
    if version == 3:  # role -> folder, the class implied by the role
        manifest["components"] = {
            folder_name: list(_VERSION_3_CLASSES[role.split("/")[0]])
            for role, folder_name in manifest["components"].items()
        }
    return manifest


def _component_class(name: str, entry: Any, manifest_path: Path) -> type[PretrainedModel]:
    """The model class a ``pipeline.json`` lists for component ``name``: a saved model class
    of semges (a checkpoint never makes other code run)."""
    if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(e, str) for e in entry)):
        raise CheckpointError(
            f"{manifest_path}: component {name!r} must be listed as [module, class], got {entry!r}"
        )
    module_name, class_name = entry
    if module_name.split(".")[0] != "semges":
        raise CheckpointError(
            f"{manifest_path}: component {name!r} is a {module_name}."
            f"{class_name}; only semges classes are loaded"
        )
    try:
        model_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise CheckpointError(
            f"{manifest_path}: component {name!r}: no class {class_name} in {module_name} ({error})"
        ) from error
    if not (isinstance(model_class, type) and issubclass(model_class, PretrainedModel)):
        raise CheckpointError(
            f"{manifest_path}: component {name!r}: {module_name}."
            f"{class_name} is not a saved model class"
        )
    return model_class


def _component(
    components: dict[str, PretrainedModel], name: str, expected: type, folder: Path
) -> Any:
    """Component ``name``, taken out of ``components``, if it is an ``expected``."""
    if name not in components:
        raise CheckpointError(f"{folder}/{PIPELINE_FILE} lists no component {name!r}")
    model = components.pop(name)
    if not isinstance(model, expected):
        raise CheckpointError(
            f"{folder}: component {name!r} is a {type(model).__name__}, not a {expected.__name__}"
        )
    return model


def _frontend_config(manifest: dict[str, Any], manifest_path: Path) -> FrontendConfig:
    try:  # pipelines saved before the front-end was recorded used the default one
        return FrontendConfig.from_dict(manifest.get("frontend", {}))
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{manifest_path}: bad front-end config: {error}") from error


def saved_frontend_config(folder: str | os.PathLike) -> FrontendConfig:
    """The speech front-end a saved pipeline was trained with, without loading its weights
    (to build that front-end with other run-time settings: threads, limits)."""
    manifest_path = Path(folder) / PIPELINE_FILE
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as error:
        raise CheckpointError(f"cannot read {manifest_path}: {error}") from error
    return _frontend_config(manifest, manifest_path)


def guided_code_logits(
    generator: SemGesGenerator,
    inference: InferenceConfig,
    audio: torch.Tensor,
    text: torch.Tensor,
    word_mask: torch.Tensor,
    speaker: torch.Tensor,
    words_withheld: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Windows of features -> per part (B, T, K) logits the codes are sampled from.

    audio (B, T, A), text (B, T, E), word_mask (B, T), speaker (B,) BEAT2 ids,
    words_withheld (B,) or (B, T) bool or None (the live path: the frames whose words are not
    recognised yet). The generator's
    logits, those of ``guided_parts`` guided (``guidance_scale`` s != 1:
    l_uncond + s * (l - l_uncond), the unconditional model being the generator with the
    speech withheld), then the codes' training frequency discounted (``prior_correction``).
    """
    scale, guided = inference.guidance_scale, inference.guided_parts
    if scale == 1.0 or not guided:
        logits = generator(
            audio, text, word_mask, speaker, words_withheld=words_withheld
        ).code_logits
    else:
        batch = audio.shape[0]
        withheld = torch.arange(2 * batch, device=audio.device) >= batch
        output = generator(
            audio.repeat(2, 1, 1),
            text.repeat(2, 1, 1),
            word_mask.repeat(2, 1),
            speaker.repeat(2),
            words_withheld=(
                None
                if words_withheld is None
                else words_withheld.repeat(2, *[1] * (words_withheld.ndim - 1))
            ),
            speech_withheld=withheld,
        )
        logits = {}
        for part, both in output.code_logits.items():
            conditional, unconditional = both.split(batch)
            logits[part] = (
                unconditional + scale * (conditional - unconditional)
                if part in guided
                else conditional
            )
    return generator.prior_corrected_logits(logits, inference.prior_correction)


class SemGesPipeline:
    """Generator + frozen per-part VQ-VAEs (+ the speech front-end, loaded on first use)."""

    def __init__(
        self,
        generator: SemGesGenerator,
        vqvaes: dict[str, MotionVQVAE],
        inference: InferenceConfig = InferenceConfig(),
        frontend: SpeechFrontend | None = None,
        trained_speakers: tuple[int, ...] = (),
        face: FaceModel | None = None,
        frontend_config: FrontendConfig | None = None,
    ) -> None:
        """``trained_speakers``: BEAT2 ids the generator learned from (empty: not recorded);
        other ids still run, on embeddings training never updated. ``face``: the jaw and
        expression regressor; None (older checkpoints) leaves the face at rest.
        ``frontend_config``: the speech front-end the models were trained with (default: the
        bundled one); saved with the pipeline, and a front-end that makes other features is
        refused."""
        missing = set(generator.config.parts) - set(vqvaes)
        if missing:
            raise CheckpointError(f"no VQ-VAE for generated parts {sorted(missing)}")
        for part in generator.config.parts:
            if vqvaes[part].config.code_dim != generator.config.latent_dim:
                raise CheckpointError(
                    f"VQ-VAE '{part}' codes have {vqvaes[part].config.code_dim} dims, the "
                    f"generator predicts {generator.config.latent_dim}"
                )
            if vqvaes[part].config.codebook_size != generator.config.codebook_size:
                raise CheckpointError(
                    f"VQ-VAE '{part}' has {vqvaes[part].config.codebook_size} codes, the "
                    f"generator scores {generator.config.codebook_size}"
                )
        unknown = set(inference.guided_parts) - set(generator.config.parts)
        if unknown:
            raise CheckpointError(
                f"guided_parts {sorted(unknown)} are not generated parts "
                f"{list(generator.config.parts)}"
            )
        self.generator = generator.eval()
        self.vqvaes = {part: vqvaes[part].eval() for part in generator.config.parts}
        self.inference = inference
        self.trained_speakers = tuple(sorted(trained_speakers))
        if face is not None and (face.config.audio_dim, face.config.text_dim) != (
            generator.config.audio_dim,
            generator.config.text_dim,
        ):
            raise CheckpointError(
                f"the face model reads audio/text features of {face.config.audio_dim}/"
                f"{face.config.text_dim} dims, the generator {generator.config.audio_dim}/"
                f"{generator.config.text_dim}: they were trained with different front-ends"
            )
        self.face = face.eval() if face is not None else None
        self.frontend_config = frontend_config if frontend_config is not None else FrontendConfig()
        self._frontend = self._checked(frontend) if frontend is not None else None

    @property
    def parts(self) -> tuple[str, ...]:
        return self.generator.config.parts

    @property
    def frontend(self) -> SpeechFrontend:
        """The speech front-end (Whisper, MiniLM, prosody), built on first use."""
        if self._frontend is None:
            from semges.speech.frontend import SpeechFrontend

            self._frontend = self._checked(SpeechFrontend(self.frontend_config))
        return self._frontend

    def _checked(self, frontend: SpeechFrontend) -> SpeechFrontend:
        """The front-end, if it makes the features this checkpoint was trained on."""
        differences = self.frontend_config.feature_differences(frontend.config)
        if differences:
            raise CheckpointError(
                "this checkpoint was trained with another speech front-end: "
                + "; ".join(
                    f"{name} {getattr(self.frontend_config, name)!r} in the checkpoint, "
                    f"{getattr(frontend.config, name)!r} given"
                    for name in differences
                )
            )
        config = self.generator.config
        if (frontend.audio_dim, frontend.text_dim) != (config.audio_dim, config.text_dim):
            raise CheckpointError(
                f"this checkpoint expects audio/text features of {config.audio_dim}/"
                f"{config.text_dim} dims, the speech front-end makes {frontend.audio_dim}/"
                f"{frontend.text_dim}: it was trained with another front-end"
            )
        return frontend

    def warm_up(self) -> None:
        """Run one window of silence through the models, so the first request pays no
        one-off start-up cost (memory pools, kernel selection)."""
        config = self.generator.config
        silence = SpeechFeatures(
            audio=np.zeros((config.window, config.audio_dim), np.float32),
            text=np.zeros((config.window, config.text_dim), np.float32),
            word_mask=np.zeros(config.window, bool),
        )
        self.generate_motion(silence)

    # -- persistence -----------------------------------------------------------------------

    def components(self) -> dict[str, PretrainedModel]:
        """Every model of the pipeline by component name (its folder in a saved pipeline)."""
        named: dict[str, PretrainedModel] = {GENERATOR_FOLDER: self.generator}
        named.update({vqvae_folder(part): vqvae for part, vqvae in self.vqvaes.items()})
        if self.face is not None:
            named[FACE_FOLDER] = self.face
        return named

    def with_face(self, face: FaceModel | None) -> SemGesPipeline:
        """This pipeline with another face model (None: none), checked as the constructor
        checks it."""
        return SemGesPipeline(
            self.generator,
            self.vqvaes,
            self.inference,
            self._frontend,
            self.trained_speakers,
            face,
            self.frontend_config,
        )

    def _manifest(self) -> dict[str, Any]:
        """What ``pipeline.json`` says of this pipeline."""
        return {
            "format": PIPELINE_FORMAT,
            "format_version": PIPELINE_FORMAT_VERSION,
            "components": {
                name: [type(model).__module__, type(model).__name__]
                for name, model in self.components().items()
            },
            "inference": dataclasses.asdict(self.inference),
            "trained_speakers": list(self.trained_speakers),
            "frontend": self.frontend_config.to_dict(),
        }

    def _write_manifest(self, folder: Path) -> None:
        with atomic_output(folder / PIPELINE_FILE) as partial:
            Path(partial).write_text(json.dumps(self._manifest(), indent=2))

    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        """Write the whole pipeline to ``folder`` (replacing whatever was there)."""

        def write(staging: Path) -> None:
            for name, model in self.components().items():
                model.save_pretrained(staging / name)
            self._write_manifest(staging)

        return write_folder_atomically(Path(folder), write)

    def save_component(self, folder: str | os.PathLike, name: str) -> Path:
        """Write component ``name`` into ``folder``, a saved pipeline holding this pipeline's
        other components (the one it was loaded from), and list it in ``pipeline.json``; the
        other components' folders and any other file (model card, metrics) stay as they are.
        Returns the component's folder.

            pipeline = SemGesPipeline.from_pretrained(folder).with_face(face)
            pipeline.save_component(folder, FACE_FOLDER)
        """
        folder = Path(folder)
        components = self.components()
        if name not in components:
            raise ValueError(
                f"this pipeline has no component {name!r}; it has {', '.join(components)}"
            )
        listed = self._manifest()["components"]
        saved = _read_manifest(folder)["components"]
        others, saved_others = ({n: e for n, e in c.items() if n != name} for c in (listed, saved))
        if saved_others != others:
            raise CheckpointError(
                f"{folder} holds the components {saved_others}, this pipeline "
                f"{others}: save the whole pipeline with save_pretrained"
            )
        destination = components[name].save_pretrained(folder / name)
        self._write_manifest(folder)
        return destination

    @classmethod
    def from_pretrained(
        cls,
        folder: str | os.PathLike,
        frontend: SpeechFrontend | None = None,
        device: str | torch.device = "cpu",
    ) -> SemGesPipeline:
        folder = Path(folder)
        manifest = _read_manifest(folder)
        manifest_path = folder / PIPELINE_FILE
        components = {
            name: _component_class(name, entry, manifest_path).from_pretrained(
                folder / name, device
            )
            for name, entry in manifest["components"].items()
        }
        generator = _component(components, GENERATOR_FOLDER, SemGesGenerator, folder)
        vqvaes = {
            part: _component(components, vqvae_folder(part), MotionVQVAE, folder)
            for part in generator.config.parts
        }
        face = (
            _component(components, FACE_FOLDER, FaceModel, folder)
            if FACE_FOLDER in components
            else None
        )
        if components:
            raise CheckpointError(
                f"{manifest_path} lists components this pipeline does not "
                f"use: {', '.join(components)}"
            )
        inference = config_from_dict(InferenceConfig, manifest.get("inference", {}))
        return cls(
            generator,
            vqvaes,
            inference,
            frontend,
            tuple(manifest.get("trained_speakers", ())),
            face,
            _frontend_config(manifest, manifest_path),
        )

    # -- generation ------------------------------------------------------------------------

    def speaker_names(self) -> list[str]:
        """BEAT2 names of the speakers the generator learned from, by id (every speaker it has
        an embedding for when the checkpoint does not record them)."""
        return [BEAT2_SPEAKERS[sid] for sid in self._offered_speakers()]

    def check_speaker(self, speaker: int | str, trained_only: bool = False) -> int:
        """The BEAT2 id of ``speaker`` (an id, 2, or a name, "scott") if this checkpoint can
        imitate it; ValueError saying what it takes otherwise. ``trained_only`` also refuses
        the speakers training never saw (the others run on untrained embeddings)."""
        sid = speaker_id(speaker)
        known = self.generator.config.num_speakers
        if sid > known:
            raise ValueError(f"this checkpoint knows speaker ids 1..{known}")
        if trained_only and sid not in self._offered_speakers():
            raise ValueError(
                f"this model was not trained on {BEAT2_SPEAKERS[sid]}; choose one of "
                f"{', '.join(self.speaker_names())}"
            )
        return sid

    def _offered_speakers(self) -> tuple[int, ...]:
        if self.trained_speakers:
            return self.trained_speakers
        return tuple(range(1, self.generator.config.num_speakers + 1))

    def code_logits(
        self,
        audio: torch.Tensor,
        text: torch.Tensor,
        word_mask: torch.Tensor,
        speaker: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Windows of features -> per part (B, T, K) logits the codes are sampled from
        (:func:`guided_code_logits` of this pipeline's generator and settings)."""
        return guided_code_logits(self.generator, self.inference, audio, text, word_mask, speaker)

    def eased_motion(self, rot6d: torch.Tensor, envelope: torch.Tensor) -> MotionClip:
        """(T, sum of the parts' dims) decoded rotations, eased to each part's rest pose (its
        VQ-VAE's mean pose) by the (T,) ``envelope`` -> a clip of T frames, root and face at
        rest."""
        part_dims = [self.vqvaes[p].config.input_dim for p in self.parts]
        motion = MotionClip.rest(rot6d.shape[0])
        for part, part_rot6d in zip(self.parts, rot6d.split(part_dims, dim=-1)):
            rest = self.vqvaes[part].mean.float().cpu()  # (D,) the part's mean pose
            eased = rest + envelope[:, None] * (part_rot6d - rest)
            motion = motion.with_part_rot6d(layout.GENERATED_PARTS[part], eased)
        return motion

    def generate_motion(
        self,
        features: SpeechFeatures,
        speaker: int | str = DEFAULT_SPEAKER,
        seed: int = 0,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> MotionClip:
        """Frame-aligned speech features of any length T -> a MotionClip of exactly T frames.

        Temperature 0 takes the most likely code for every frame (deterministic, ``seed`` has
        no effect); above 0, codes are sampled from the generator's code probabilities
        sharpened or flattened by the temperature, and ``seed`` picks the variation. The
        motion eases to each part's rest pose (the VQ-VAE's mean pose) in pauses without words
        and over the last ``settle_s``; when the lower body is generated, the translation
        keeps the weight-bearing foot planted. With a face model, the jaw and expressions
        follow the speech (deterministically, at any temperature) and ease to the rest face
        (mouth closed) ``face_hold_after_words_s`` after the last word.
        """
        config = self.generator.config
        if features.audio.shape[1] != config.audio_dim or features.text.shape[1] != config.text_dim:
            raise ValueError(
                f"features have audio {features.audio.shape[1]} / text {features.text.shape[1]} "
                f"dims; this checkpoint expects {config.audio_dim} / {config.text_dim}"
            )
        speaker = self.check_speaker(speaker)
        check_temperature(temperature)
        check_seed(seed)
        settings = self.inference
        device = self.generator.audio_mean.device
        plan = plan_windows(features.num_frames, config.window, settings.overlap)
        audio = pad_to_window(torch.from_numpy(features.audio).float(), config.window)
        text = pad_to_window(torch.from_numpy(features.text).float(), config.window)
        mask = pad_to_window(torch.from_numpy(features.word_mask).bool(), config.window)
        part_dims = [self.vqvaes[p].config.input_dim for p in self.parts]
        segment_firsts = segment_starts(
            features.num_frames,
            word_onset_frames(features.word_mask, features.text),
            settings.min_segment_frames,
            settings.max_segment_frames,
        )
        # each segment's noise, drawn once per clip (a window reads the rows of its segments)
        clip_noise = (
            [
                torch.from_numpy(segment_noise(seed, stream, segment_firsts, config.codebook_size))
                for stream in range(len(self.parts))
            ]
            if temperature > 0
            else None
        )

        def predict(window_starts: list[int]) -> torch.Tensor:
            windows = [slice(s, s + config.window) for s in window_starts]
            logits = self.code_logits(
                torch.stack([audio[w] for w in windows]).to(device),
                torch.stack([text[w] for w in windows]).to(device),
                torch.stack([mask[w] for w in windows]).to(device),
                torch.full((len(windows),), speaker, dtype=torch.long, device=device),
            )
            segments, firsts = window_segments(segment_firsts, window_starts, config.window)
            most = max(len(f) for f in firsts)
            decoded = []
            for stream, part in enumerate(self.parts):
                noise = None
                if clip_noise is not None:
                    noise = torch.zeros(len(windows), most, config.codebook_size)
                    for row, first_frames in enumerate(firsts):
                        first = int(np.searchsorted(segment_firsts, first_frames[0]))
                        noise[row, : len(first_frames)] = clip_noise[stream][
                            first : first + len(first_frames)
                        ]
                indices = sample_held_codes(
                    logits[part], torch.from_numpy(segments), temperature, noise
                )
                decoded.append(self.vqvaes[part].decode_indices(indices))
            return torch.cat(decoded, dim=-1)  # (B, window, sum of part dims)

        with torch.inference_mode():
            rot6d = run_windowed(predict, plan, sum(part_dims), settings.batch_windows)
        rot6d = gaussian_smooth(rot6d, settings.smoothing_frames)
        envelope = torch.from_numpy(
            activity_envelope(
                features.word_mask, layout.FPS, settings.hold_after_words_s, settings.settle_s
            )
        )
        motion = self.eased_motion(rot6d, envelope)
        if layout.LOWER.name in self.parts:
            motion.trans = planted_translation(motion.poses, layout.FPS, settings.recenter_time_s)
        if self.face is not None:
            face = self.face.predict(
                features.audio,
                features.text,
                features.word_mask,
                activity_envelope(
                    features.word_mask,
                    layout.FPS,
                    settings.face_hold_after_words_s,
                    settings.face_settle_s,
                ),
                settings.face_gain,
            )
            motion.poses[:, list(layout.FACE_JAW.pose_columns)] = face.jaw
            motion.expressions = face.expressions
        return motion

    def __call__(
        self,
        audio: AudioInput,
        text: str | None = None,
        speaker: int | str = DEFAULT_SPEAKER,
        seed: int = 0,
        temperature: float = DEFAULT_TEMPERATURE,
        progress: StageCallback = ignore_progress,
    ) -> GeneratedMotion:
        """Speech (a file path, (samples, sample_rate), or decoded
        :class:`semges.speech.audio.Audio`) -> motion and the words used.

        ``speaker``: a BEAT2 speaker id (2) or name ("scott")."""
        # refuse bad settings before the speech is transcribed
        speaker = self.check_speaker(speaker)
        check_temperature(temperature)
        check_seed(seed)
        features = self.frontend.extract(audio, text, progress=progress)
        progress(Stage.GENERATING, 0.0)
        motion = self.generate_motion(features, speaker=speaker, seed=seed, temperature=temperature)
        progress(Stage.GENERATING, 1.0)
        return GeneratedMotion(motion=motion, words=features.words, features=features)
