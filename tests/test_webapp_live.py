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
from semges.shipped_checkpoint import SHIPPED_CHECKPOINT
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
    LiveStage,
    LiveUnavailable,
    PieceTooLarge,
    SessionGone,
    StageBusy,
    generator_streams,
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
        if channel.target.path == "weights":  # the mouth's morph: the jaw opens it, sent above
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


# -- the stage: sessions of the real streaming generator ---------------------------------------


class SteppedClock:
    """The stage's clock, moved by hand: idle time passes without the test waiting for it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def live_pipeline(speech_frontend):
    """The shipped pipeline (with its live models) on the session's speech front-end, shared
    by every stream as the demo shares its own."""
    from semges.pipeline import SemGesPipeline

    return SemGesPipeline.from_pretrained(SHIPPED_CHECKPOINT, frontend=speech_frontend)


@pytest.fixture
def stage(live_pipeline) -> LiveStage:
    return LiveStage(generator_streams(SHIPPED_CHECKPOINT, live_pipeline), capacity=1)


def test_a_session_turns_speech_into_frames_of_a_moving_body(stage):
    """Pieces of real speech in, frames out as they become final, the rest at Stop: one
    frame per 1/30 s of speech, in order, and the arms move while the speaker talks."""
    speech = speech_samples()
    session = stage.open()
    payload, emitted = b"", []
    for piece in pieces(speech):
        result = stage.push(session.session_id, piece.astype("<f4").tobytes())
        payload += result.frames
        emitted.append(result.frames_emitted)
    assert emitted[-1] > 0  # frames came while the speech was still arriving
    lookahead_frames = int(np.ceil(session.stream.lookahead_s * layout.FPS))
    last = stage.stop(session.session_id)
    payload += last.frames
    frames = decode_frames(payload)
    expected = layout.num_motion_frames(speech.shape[0], SAMPLE_RATE)
    assert frames.times.shape[0] == last.frames_emitted == expected
    np.testing.assert_allclose(frames.times, np.arange(expected) / layout.FPS, atol=1e-5)
    assert emitted[-1] >= expected - lookahead_frames - int(PIECE_S * layout.FPS) - 1
    right_elbow = frames.quaternions[:, layout.JOINT_NAMES.index("right_elbow")]
    turned = np.degrees(2 * np.arccos(np.clip(np.abs(right_elbow @ right_elbow[0]), 0, 1)))
    assert turned.max() > 5.0  # the body gestures
    assert stage.active() == 0


def test_a_second_speaker_is_told_the_stage_is_busy_until_the_first_stops(stage):
    first = stage.open()
    with pytest.raises(StageBusy, match="someone else is speaking live"):
        stage.open()
    stage.stop(first.session_id)
    second = stage.open()
    assert second.session_id != first.session_id
    stage.stop(second.session_id)
    with pytest.raises(SessionGone, match="Press Start"):
        stage.stop(second.session_id)


def test_bad_audio_is_refused_and_the_session_goes_on(stage):
    session = stage.open()
    speech = speech_samples(PIECE_S)
    with pytest.raises(BadAudio, match="16-bit PCM"):
        stage.push(session.session_id, np.round(speech * 32767).astype("<i2").tobytes() * 2)
    result = stage.push(session.session_id, speech.astype("<f4").tobytes())
    assert result.audio_seconds == pytest.approx(PIECE_S)
    stage.stop(session.session_id)


def test_a_client_that_vanishes_frees_the_stage(live_pipeline):
    clock = SteppedClock()
    stage = LiveStage(
        generator_streams(SHIPPED_CHECKPOINT, live_pipeline), idle_seconds=10, clock=clock
    )
    gone = stage.open()
    stage.push(gone.session_id, speech_samples(PIECE_S).tobytes())
    clock.now += 9.0
    assert stage.active() == 1  # quiet, not gone yet
    clock.now += 2.0
    assert stage.active() == 0 and gone.stream is None  # its generator is freed
    with pytest.raises(SessionGone, match="without audio"):
        stage.push(gone.session_id, speech_samples(PIECE_S).tobytes())
    stage.stop(stage.open().session_id)  # the next visitor gets the stage


def test_a_checkpoint_without_live_models_says_so(live_pipeline, tmp_path):
    stage = LiveStage(generator_streams(tmp_path, live_pipeline))
    with pytest.raises(LiveUnavailable, match="no live models"):
        stage.open()
    assert stage.active() == 0  # the place is given back


# -- the HTTP routes ----------------------------------------------------------------------------


@pytest.fixture
def client(stage):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from webapp.live_routes import live_routes

    with TestClient(FastAPI(routes=live_routes(stage))) as client:
        yield client


def post_audio(client, session: str, body: bytes, content_type: str = "application/octet-stream"):
    return client.post(
        f"/semges-live/sessions/{session}/audio",
        content=body,
        headers={"content-type": content_type},
    )


def test_the_routes_stream_refuse_bad_input_and_keep_serving(client):
    opened = client.post("/semges-live/sessions")
    assert opened.status_code == 201
    session = opened.json()
    assert session["sample_rate"] == SAMPLE_RATE and session["wire"] == wire_format()
    assert 0 < session["lookahead_s"] < 1.0
    busy = client.post("/semges-live/sessions")
    assert busy.status_code == 409 and "stage is busy" in busy.json()["error"]

    speech = speech_samples()
    sid = session["session"]
    refusals = {
        "wrong type": post_audio(client, sid, speech[:3200].tobytes(), "audio/wav"),
        "pcm": post_audio(client, sid, np.round(speech[:3200] * 32767).astype("<i2").tobytes()),
        "huge": post_audio(client, sid, np.zeros(10 * SAMPLE_RATE, "<f4").tobytes()),
        "odd": post_audio(client, sid, b"\0" * 7),
        "unknown": post_audio(client, "no-such-session", speech[:3200].tobytes()),
    }
    assert {name: r.status_code for name, r in refusals.items()} == {
        "wrong type": 415,
        "pcm": 400,
        "huge": 413,
        "odd": 400,
        "unknown": 404,
    }
    assert "float32" in refusals["pcm"].json()["error"]
    assert "too large" in refusals["huge"].json()["error"]

    # a piece that brings the audio up to the count the session asks for completes a step
    first_step = session["next_step_samples"]
    reply = post_audio(client, sid, speech[:first_step].tobytes())
    assert reply.status_code == 200 and len(reply.content) > 0
    received, sent = reply.content, first_step
    for piece in pieces(speech[first_step:]):
        assert int(reply.headers["x-semges-next-step-samples"]) > sent
        reply = post_audio(client, sid, piece.tobytes())
        sent += piece.shape[0]
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == "application/octet-stream"
        received += reply.content
        assert len(received) // FRAME_BYTES == int(reply.headers["x-semges-frames-emitted"])
    stopped = client.post(f"/semges-live/sessions/{sid}/stop")
    assert stopped.status_code == 200
    total = len(received + stopped.content) // FRAME_BYTES
    assert total == layout.num_motion_frames(speech.shape[0], SAMPLE_RATE)
    assert post_audio(client, sid, speech[:3200].tobytes()).status_code == 404
    assert client.get("/semges-live/status").json() == {"active": 0, "capacity": 1}
    assert client.post("/semges-live/sessions").status_code == 201  # the next speaker


def test_the_stage_is_configured_from_the_environment(monkeypatch, live_pipeline):
    from webapp.live_stage import stage_for
    from webapp.settings import AppSettings, SettingsError

    monkeypatch.setenv("SEMGES_APP_LIVE_SESSIONS", "2")
    monkeypatch.setenv("SEMGES_APP_LIVE_IDLE_SECONDS", "30")
    stage = stage_for(AppSettings.from_env(), live_pipeline)
    assert (stage.capacity, stage.idle_seconds) == (2, 30)
    assert (AppSettings().live_sessions, AppSettings().live_idle_seconds) == (1, 10)
    assert AppSettings().live_words and AppSettings.from_env().live_words
    monkeypatch.setenv("SEMGES_APP_LIVE_NO_WORDS", "1")
    assert not AppSettings.from_env().live_words
    monkeypatch.setenv("SEMGES_APP_LIVE_SESSIONS", "0")
    with pytest.raises(SettingsError, match="SEMGES_APP_LIVE_SESSIONS must be >= 1"):
        AppSettings.from_env()
