"""The Live page's server side: the wire frames, the audio checks, the stage's sessions and the
HTTP routes, with the real streaming generator (``semges.live``) on the shipped checkpoint and
real BEAT2 speech. The page itself, in a browser, is tests/test_browser_live.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
from scipy.spatial.transform import Rotation
from test_gltf import GlbFile

from semges import layout
from semges.motion import MotionClip, load_motion
from semges.render.gltf import write_glb
from webapp.live_frames import (
    FRAME_BYTES,
    QUATERNION_SCALE,
    FrameEncoder,
    decode_frames,
    wire_format,
)
from webapp.live_stage import (
    MAX_PIECE_SECONDS,
    BadAudio,
    PieceTooLarge,
    read_samples,
)

DATA = Path(__file__).parent / "data"
SPEECH = DATA / "2_scott_0_1_1_excerpt.wav"  # 6.45 s of real speech, 16 kHz
SAMPLE_RATE = 16_000
PIECE_S = 0.2  # what the page sends
QUANTUM = 1.0 / QUATERNION_SCALE
PIECES_OF_A_CLIP = (1, 7, 0, 12, 25)  # frames per clip as a stream makes them final, 0 included


def speech_samples(seconds: float | None = None) -> np.ndarray:
    samples, rate = soundfile.read(SPEECH, dtype="float32")
    assert rate == SAMPLE_RATE
    return samples if seconds is None else samples[: int(seconds * SAMPLE_RATE)]


def pieces(samples: np.ndarray, seconds: float = PIECE_S) -> list[np.ndarray]:
    size = int(seconds * SAMPLE_RATE)
    return [samples[start : start + size] for start in range(0, samples.shape[0], size)]


def beat2_clip(frames: int, betas: bool = True) -> MotionClip:
    beat2 = load_motion(DATA / "2_scott_0_1_1.npz")
    return MotionClip(
        beat2.poses[300 : 300 + frames],
        beat2.trans[300 : 300 + frames],
        beat2.betas if betas else np.zeros(layout.NUM_BETAS, np.float32),
    )


def split(clip: MotionClip, sizes: tuple[int, ...]) -> list[MotionClip]:
    parts, start = [], 0
    for size in sizes:
        end = start + size
        parts.append(MotionClip(clip.poses[start:end], clip.trans[start:end], clip.betas))
        start = end
    return parts


# -- the wire frames ---------------------------------------------------------------------------


def test_streamed_frames_are_the_glb_animation_keys(tmp_path):
    """A motion sent in pieces of any size arrives as the .glb writer's own animation: the
    same joint rotations (to 1/32767) and pelvis positions, each frame at i / 30 s, and a
    joint's consecutive quaternions in one hemisphere across pieces (the page interpolates)."""
    clip = beat2_clip(sum(PIECES_OF_A_CLIP))
    encoder = FrameEncoder(clip.betas)
    payload = b"".join(encoder.encode(part) for part in split(clip, PIECES_OF_A_CLIP))
    assert len(payload) == clip.num_frames * FRAME_BYTES
    frames = decode_frames(payload)

    np.testing.assert_allclose(frames.times, np.arange(clip.num_frames) / layout.FPS, atol=1e-6)
    glb = GlbFile(write_glb(clip, tmp_path / "same.glb", body="mannequin"))
    animation = glb.gltf.animations[0]
    for channel in animation.channels:
        keys = glb.accessor(animation.samplers[channel.sampler].output)
        if channel.target.path == "translation":
            np.testing.assert_allclose(frames.root, keys, atol=1e-6)
            continue
        joint = glb.gltf.skins[0].joints.index(channel.target.node)
        sent = frames.quaternions[:, joint]
        same_rotation = np.abs(np.einsum("tq,tq->t", sent, keys))  # q and -q: one rotation
        np.testing.assert_allclose(same_rotation, 1.0, atol=4 * QUANTUM)
    steps = np.einsum("tjq,tjq->tj", frames.quaternions[1:], frames.quaternions[:-1])
    assert steps.min() > 0  # never the long way round, across piece boundaries too


def test_the_wire_format_is_what_the_page_reads():
    wire = wire_format()
    assert wire["frame_bytes"] == FRAME_BYTES == 4 + 3 * 4 + layout.NUM_JOINTS * 4 * 2
    assert wire["joints"] == list(layout.JOINT_NAMES) and wire["fps"] == layout.FPS
    with pytest.raises(ValueError, match="whole number"):
        decode_frames(b"\0" * (FRAME_BYTES + 1))


def test_the_neutral_body_is_the_default_shape():
    """The page shows the idle .glb's neutral mannequin: trans is added to its pelvis."""
    clip = beat2_clip(3, betas=False)
    frames = decode_frames(FrameEncoder().encode(clip))
    neutral = decode_frames(FrameEncoder(np.zeros(layout.NUM_BETAS)).encode(clip))
    np.testing.assert_array_equal(frames.root, neutral.root)
    jaw = frames.quaternions[:, layout.JAW.joints[0]]
    expected = Rotation.from_rotvec(clip.poses[:, layout.pose_columns(layout.JAW.joints)])
    assert (Rotation.from_quat(jaw).inv() * expected).magnitude().max() < 1e-3


# -- what the page may send --------------------------------------------------------------------


def test_float32_speech_is_read_and_anything_else_refused():
    speech = speech_samples(PIECE_S)
    np.testing.assert_array_equal(read_samples(speech.astype("<f4").tobytes(), SAMPLE_RATE), speech)
    pcm16 = np.round(speech_samples(PIECE_S * 2) * 32767).astype("<i2").tobytes()
    with pytest.raises(BadAudio, match="16-bit PCM or another format"):
        read_samples(pcm16, SAMPLE_RATE)  # the same bytes as 0.2 s of float32, but PCM
    with pytest.raises(BadAudio, match="whole float32 samples"):
        read_samples(speech.tobytes()[:-1], SAMPLE_RATE)
    with pytest.raises(BadAudio, match="whole float32 samples"):
        read_samples(b"", SAMPLE_RATE)
    with pytest.raises(BadAudio, match="not float32 samples"):
        read_samples(np.array([0.1, np.nan], "<f4").tobytes(), SAMPLE_RATE)
    too_long = np.zeros(int(MAX_PIECE_SECONDS * SAMPLE_RATE) + 1, "<f4").tobytes()
    with pytest.raises(PieceTooLarge, match="too large"):
        read_samples(too_long, SAMPLE_RATE)
