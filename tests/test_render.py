"""Video rendering contract: decodable H.264 + AAC mp4, one frame per motion frame, audio cut
or padded to the motion, frames that show a moving body, atomic output, progress, framing."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile
from import_probe import modules_loaded_by

from semges.motion import MotionClip, load_motion
from semges.render import VideoEncodeError, VideoRenderer
from semges.render.framing import VIEWS, check_view, project
from semges.render.video_encoder import check_frame_size, parse_frame_size

DATA = Path(__file__).parent / "data"
BEAT2_MOTION = DATA / "2_scott_0_1_1.npz"
SPEECH = DATA / "2_scott_0_1_1_excerpt.wav"  # 6.45 s
SIZE = (192, 128)
FPS = 30
NUM_FRAMES = 36  # 1.2 s
FRAME_S = 1.0 / FPS


def excerpt(clip: MotionClip, start: int, stop: int) -> MotionClip:
    return MotionClip(
        clip.poses[start:stop], clip.trans[start:stop], clip.betas, clip.expressions[start:stop]
    )


@pytest.fixture(scope="module")
def beat2() -> MotionClip:
    return load_motion(BEAT2_MOTION)


@pytest.fixture(scope="module")
def clip(beat2: MotionClip) -> MotionClip:
    return excerpt(beat2, 300, 300 + NUM_FRAMES)


@pytest.fixture(scope="module")
def renderer() -> VideoRenderer:
    with VideoRenderer("mannequin", size=SIZE) as instance:
        yield instance


def probe(path: Path) -> dict:
    """Streams, codecs, sizes, decoded frame count and durations (seconds) of a media file."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        info = {
            "video_codec": video.codec_context.name,
            "pix_fmt": video.codec_context.format.name,
            "size": (video.codec_context.width, video.codec_context.height),
            "fps": float(video.average_rate),
            "video_duration": float(video.duration * video.time_base),
            "audio": None,
        }
        if container.streams.audio:
            audio = container.streams.audio[0]
            info["audio"] = audio.codec_context.name
            info["audio_duration"] = float(audio.duration * audio.time_base)
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    info["frames"] = frames
    return info


def test_video_has_one_h264_frame_per_motion_frame_and_trimmed_aac(renderer, clip, tmp_path):
    out = renderer.render_video(clip, tmp_path / "talk.mp4", audio_path=SPEECH)
    info = probe(out)
    assert info["video_codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["size"] == SIZE and info["fps"] == FPS
    assert len(info["frames"]) == clip.num_frames
    assert info["video_duration"] == pytest.approx(clip.num_frames / FPS, abs=FRAME_S)
    assert info["audio"] == "aac"  # 6.45 s of speech cut to the 1.2 s of motion
    assert info["audio_duration"] == pytest.approx(clip.duration_s, abs=FRAME_S)


def test_short_audio_is_padded_to_the_motion(renderer, clip, tmp_path):
    sample_rate = 16000
    speech, _ = soundfile.read(SPEECH, frames=sample_rate // 2, dtype="int16")  # 0.5 s
    short = tmp_path / "short.wav"
    soundfile.write(short, speech, sample_rate)
    info = probe(renderer.render_video(clip, tmp_path / "padded.mp4", audio_path=short))
    assert len(info["frames"]) == clip.num_frames
    assert info["audio_duration"] == pytest.approx(clip.duration_s, abs=FRAME_S)


def test_frames_show_a_moving_body(renderer, clip, tmp_path):
    frames = probe(renderer.render_video(clip, tmp_path / "silent.mp4"))["frames"]
    assert len(frames) == clip.num_frames
    for frame in (frames[0], frames[-1]):
        assert frame.std() > 10.0  # not a blank picture
        background = np.array(frame[0, 0], float)  # the top-left corner is background
        body = np.abs(frame.astype(float) - background).sum(axis=2) > 60
        assert 0.02 < body.mean() < 0.6
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 1.0


def test_still_pose_gives_identical_frames(renderer):
    frames = list(renderer.render_frames(MotionClip.rest(3), view="full"))
    assert frames[0].shape == (SIZE[1], SIZE[0], 3) and frames[0].dtype == np.uint8
    assert np.array_equal(frames[0], frames[2])


def test_in_place_vertex_update_matches_a_fresh_draw(renderer, clip):
    """Frame k drawn after others (buffer rewritten in place) equals a first draw of frame k."""
    framing = renderer.frame(clip, "upper")
    streamed = list(renderer.render_frames(clip, "upper", 0, 6, framing=framing))
    with VideoRenderer(renderer.body, size=SIZE) as fresh:
        first = next(iter(fresh.render_frames(clip, "upper", 5, 6, framing=framing)))
    assert np.array_equal(streamed[5], first)


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_camera_keeps_every_frame_in_the_picture(renderer, beat2, view):
    motion = MotionClip(beat2.poses[:600:10], beat2.trans[:600:10], beat2.betas)  # 20 s
    camera = renderer.frame(motion, view).camera
    ids = (
        np.flatnonzero(renderer.body.upper_body_mask())
        if VIEWS[view].upper_body_only
        else np.arange(renderer.body.num_vertices)
    )
    points = renderer.body.pose(motion, 0, motion.num_frames).vertices[:, ids].reshape(-1, 3)
    ndc = np.abs(project(points.astype(np.float64), camera))
    margin = VIEWS[view].margin  # and the body fills the picture, up to the margin
    assert ndc.max() == pytest.approx(1.0 / (1.0 + margin), abs=1e-3)


def test_progress_reports_every_frame_and_can_cancel(renderer, clip, tmp_path):
    calls = []
    renderer.render_video(clip, tmp_path / "a.mp4", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(i, clip.num_frames) for i in range(1, clip.num_frames + 1)]

    def cancel(done: int, total: int) -> None:
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        renderer.render_video(clip, tmp_path / "cancelled.mp4", progress=cancel)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4"]  # no partial file


def test_unreadable_audio_fails_without_leaving_a_file(renderer, clip, tmp_path):
    bad = tmp_path / "noise.wav"
    bad.write_bytes(b"definitely not audio" * 100)
    with pytest.raises(VideoEncodeError):
        renderer.render_video(clip, tmp_path / "out.mp4", audio_path=bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noise.wav"]
    renderer.render_video(clip, tmp_path / "after.mp4")  # the renderer still works


def test_bad_requests_are_refused(renderer, clip, tmp_path):
    with pytest.raises(ValueError, match="view"):
        renderer.render_video(clip, tmp_path / "x.mp4", view="sideways")
    with pytest.raises(FileNotFoundError):
        renderer.render_video(clip, tmp_path / "x.mp4", audio_path=tmp_path / "missing.wav")
    with pytest.raises(ValueError, match="even"):
        VideoRenderer("mannequin", size=(191, 128))


@pytest.mark.parametrize(
    "text, words",
    [
        ("720x480", None),
        ("720 × 480", None),
        ("big", "look like"),
        ("14x480", "between 16"),
        ("5000x480", "between 16"),
        ("721x480", "even"),
    ],
)
def test_one_size_rule_for_every_caller(text, words):
    if words is None:
        assert parse_frame_size(text) == (720, 480) == check_frame_size((720, 480))
    else:
        with pytest.raises(ValueError, match=words):
            parse_frame_size(text)
    with pytest.raises(ValueError, match="between 16 and 1280"):
        check_frame_size((1920, 1080), max_side=1280)  # a caller's own limit, the same rule


def test_views_are_checked_by_name():
    assert [check_view(view) for view in VIEWS] == list(VIEWS)
    with pytest.raises(ValueError, match="choose one of upper, full"):
        check_view("sideways")


def test_default_size_video(clip, tmp_path):
    from semges.render import render_video

    short = excerpt(clip, 0, 6)
    info = probe(render_video(short, tmp_path / "hd.mp4", audio_path=SPEECH, body="mannequin"))
    assert info["size"] == (720, 480) and len(info["frames"]) == 6


def test_importing_render_is_light():
    heavy = ("OpenGL", "pyrender", "torch", "smplx", "mannequin", "semges.motion")
    assert modules_loaded_by("import semges.render", heavy) == []
