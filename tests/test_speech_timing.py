"""The speech decides when the hands move (issue 19): guidance toward the speech, a model that
learns to start gestures at word onsets, noise that is the same however a clip is cut, and
seeds that vary the gestures without moving their moments."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from code_head_training import fit_upper_body_codes
from tiny_pipeline import random_features, tiny_pipeline

from semges.models import GeneratorConfig, SemGesGenerator
from semges.models.code_sampling import segment_starts, word_onset_frames
from semges.speech import SpeechFeatures


def _window_inputs(frames: int = 16) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(1)
    return (
        torch.randn(2, frames, 12, generator=generator),
        torch.randn(2, frames, 10, generator=generator),
        torch.ones(2, frames, dtype=torch.bool),
        torch.tensor([2, 2]),
    )


def test_guidance_moves_the_logits_toward_the_condition() -> None:
    pipeline = tiny_pipeline()
    torch.nn.init.normal_(pipeline.generator.null_audio)  # a trained-looking unconditional input
    audio, text, mask, speaker = _window_inputs()
    with torch.no_grad():
        conditional = pipeline.generator(audio, text, mask, speaker).code_logits
        unconditional = pipeline.generator(
            audio, text, mask, speaker, speech_withheld=torch.ones(2, dtype=torch.bool)
        ).code_logits
        guided = {}
        for scale in (1.0, 2.0, 4.0):
            pipeline.inference = dataclasses.replace(
                pipeline.inference,
                guidance_scale=scale,
                prior_correction=0.0,
                guided_parts=pipeline.parts,
            )
            guided[scale] = pipeline.code_logits(audio, text, mask, speaker)
        pipeline.inference = dataclasses.replace(pipeline.inference, guided_parts=("hands",))
        hands_only = pipeline.code_logits(audio, text, mask, speaker)
    torch.testing.assert_close(hands_only["hands"], guided[4.0]["hands"])
    torch.testing.assert_close(hands_only["upper_body"], conditional["upper_body"])
    for part in pipeline.parts:
        direction = conditional[part] - unconditional[part]
        assert direction.abs().max() > 1e-3  # the condition matters to this model
        torch.testing.assert_close(guided[1.0][part], conditional[part])
        torch.testing.assert_close(guided[4.0][part] - guided[2.0][part], 2.0 * direction)
        # the code the speech favours most over the unconditional model gains probability
        favoured = direction.argmax(dim=-1, keepdim=True)
        probability = {
            s: torch.softmax(g[part], -1).gather(-1, favoured).mean() for s, g in guided.items()
        }
        assert probability[1.0] < probability[2.0] < probability[4.0]


def test_withheld_words_and_speech_change_the_output() -> None:
    generator = tiny_pipeline().generator
    torch.nn.init.normal_(generator.null_audio)
    torch.nn.init.normal_(generator.unknown_words_embedding)
    audio, text, mask, speaker = _window_inputs()
    withheld = torch.tensor([True, False])
    with torch.no_grad():
        given = generator(audio, text, mask, speaker).code_logits["hands"]
        no_words = generator(audio, text, mask, speaker, words_withheld=withheld).code_logits[
            "hands"
        ]
        other_text = generator(
            audio, torch.randn_like(text), mask, speaker, words_withheld=withheld
        ).code_logits["hands"]
    assert not torch.allclose(no_words[0], given[0])  # window 0 lost its words
    torch.testing.assert_close(no_words[1], given[1])  # window 1 kept them
    torch.testing.assert_close(other_text[0], no_words[0])  # withheld words are not read


def _word_sequences(
    batch: int, frames: int, vocabulary: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Windows of words (3..8 frames) and pauses (0..6 frames): text (B, T, E), word mask
    (B, T) and the gesture codes: each word type has its gesture (code 1 + word type), held
    while the word lasts; pauses rest (code 0)."""
    text = torch.zeros(batch, frames, vocabulary.shape[1])
    mask = torch.zeros(batch, frames, dtype=torch.bool)
    codes = torch.zeros(batch, frames, dtype=torch.long)
    for row in range(batch):
        frame = int(torch.randint(0, 4, (1,), generator=generator))
        while frame < frames:
            word = int(torch.randint(0, len(vocabulary), (1,), generator=generator))
            length = int(torch.randint(3, 9, (1,), generator=generator))
            text[row, frame : frame + length] = vocabulary[word]
            mask[row, frame : frame + length] = True
            codes[row, frame : frame + length] = 1 + word
            frame += length + int(torch.randint(0, 7, (1,), generator=generator))
    return text, mask, codes


def test_a_tiny_model_learns_to_start_gestures_at_word_onsets() -> None:
    """Gestures of the synthetic speech start exactly at word onsets. After a short training
    run the model's codes, sampled as the pipeline samples them, change at onsets: in a
    window of new words, the frames where the best code changes are word onsets."""
    torch.manual_seed(0)
    config = GeneratorConfig(
        audio_dim=12,
        text_dim=10,
        d_model=32,
        num_heads=2,
        num_layers=1,
        ffn_dim=64,
        latent_dim=8,
        codebook_size=8,
        window=32,
        dropout=0.0,
    )
    generator = SemGesGenerator(config)
    data = torch.Generator().manual_seed(0)
    vocabulary = torch.randn(6, 10, generator=data)
    audio = torch.zeros(16, 32, 12)
    speaker = torch.full((16,), 2)

    def next_batch():
        text, mask, codes = _word_sequences(16, 32, vocabulary, data)
        return audio, text, mask, speaker, codes

    fit_upper_body_codes(generator, next_batch, steps=200)
    text, mask, codes = _word_sequences(16, 32, vocabulary, torch.Generator().manual_seed(99))
    with torch.no_grad():
        predicted = generator(audio, text, mask, speaker).code_logits["upper_body"].argmax(-1)
    changes = predicted[:, 1:] != predicted[:, :-1]  # (B, T - 1): a new gesture at t + 1
    onsets = torch.from_numpy(
        np.stack(
            [
                np.isin(np.arange(1, 32), word_onset_frames(m.numpy(), t.numpy()))
                for m, t in zip(mask, text)
            ]
        )
    )
    gesture_starts = changes & (predicted[:, 1:] != 0)
    assert float((predicted == codes).float().mean()) > 0.9
    assert float((gesture_starts & onsets).sum()) > 0.9 * float(onsets.sum())  # recall
    assert float((gesture_starts & onsets).sum()) > 0.9 * float(gesture_starts.sum())  # precision


def test_a_seed_gives_the_same_motion_however_the_windows_are_batched() -> None:
    pipeline = tiny_pipeline()
    features = random_features(90, seed=3)
    one = pipeline.generate_motion(features, seed=5)
    pipeline.inference = dataclasses.replace(pipeline.inference, batch_windows=1)
    np.testing.assert_allclose(
        pipeline.generate_motion(features, seed=5).poses, one.poses, atol=1e-6
    )
    assert not np.array_equal(pipeline.generate_motion(features, seed=6).poses, one.poses)


def _clip_with_words(starts: list[int], frames: int, seed: int) -> SpeechFeatures:
    rng = np.random.default_rng(seed)
    text = np.zeros((frames, 10), np.float32)
    mask = np.zeros(frames, bool)
    bounds = starts + [frames]
    for first, stop in zip(bounds[:-1], bounds[1:]):
        text[first:stop] = rng.normal(size=10)
        mask[first : stop - 2] = True
    return SpeechFeatures(rng.normal(size=(frames, 12)).astype(np.float32), text, mask)


def test_the_upper_body_changes_gesture_only_where_a_segment_starts() -> None:
    """With held codes the decoded upper body is constant far from segment starts: the
    speech's segments, not the seed, place every change."""
    pipeline = tiny_pipeline()
    pipeline.inference = dataclasses.replace(
        pipeline.inference, smoothing_frames=0.0, hold_after_words_s=10.0
    )
    onsets = [0, 20, 35, 60]
    features = _clip_with_words(onsets, 90, seed=0)
    settings = pipeline.inference
    firsts = segment_starts(
        90,
        word_onset_frames(features.word_mask, features.text),
        settings.min_segment_frames,
        settings.max_segment_frames,
    )
    assert set(onsets) <= set(firsts.tolist())
    upper = pipeline.generate_motion(features, seed=1).poses[:, 3:66]  # body joints 1-21
    quiet = np.ones(90, bool)
    receptive = pipeline.vqvaes["upper_body"].config.num_res_blocks * 4 + 4  # decoder reach
    for first in firsts:
        quiet[max(0, first - receptive) : first + receptive] = False
    quiet[-round(settings.settle_s * 30) - receptive :] = False  # the clip's end settles
    still = np.abs(np.diff(upper, axis=0))[quiet[1:] & quiet[:-1]]
    assert still.size and still.max() < 1e-4
