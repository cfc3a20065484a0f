"""The VMC protocol sender (semges.live.vmc) against a real OSC server: python-osc's
BlockingOSCUDPServer on 127.0.0.1, the frames compared with the ``.vrma`` export's keys."""

from __future__ import annotations

import time

import numpy as np
import pytest

from semges import cli, layout
from semges.live.command import LiveCommandError, vmc_address
from semges.live.vmc import DEFAULT_PORT, FrameClock, PacedVmcStream, VmcSender
from semges.motion import MotionClip
from semges.render.vrma import MOUTH_EXPRESSION, write_vrma
from semges.vrm_humanoid import HUMAN_BONES
from tests.test_vrma import Glb
from tests.vmc_receiver import Frame, VmcReceiver

NUM_FRAMES = 4
ROTATED_FRAME = 2
ELBOW = "left_elbow"
ELBOW_AXIS_ANGLE = (0.3, -0.9, 0.4)  # radians
JAW_OPENING_DEG = 2.0
UNITY_BONES = (  # Unity's HumanBodyBones names, written out here on their own
    "Hips Spine Chest UpperChest Neck Head Jaw LeftShoulder LeftUpperArm LeftLowerArm LeftHand "
    "LeftThumbProximal LeftThumbIntermediate LeftThumbDistal LeftIndexProximal "
    "LeftLittleDistal LeftUpperLeg LeftLowerLeg LeftFoot LeftToes RightShoulder RightUpperArm "
    "RightThumbProximal RightLittleDistal RightUpperLeg RightToes"
).split()


def messages(frame: Frame, address: str) -> list[list]:
    return [arguments for name, arguments in frame if name == address]


def bone_poses(frame: Frame) -> dict[str, np.ndarray]:
    """{bone: (7,) local position (3) and rotation (x, y, z, w)} of one frame."""
    return {
        arguments[0]: np.array(arguments[1:], np.float64)
        for arguments in messages(frame, "/VMC/Ext/Bone/Pos")
    }


def same_rotation(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether unit quaternions ``a`` and ``b`` are one rotation (q and -q are)."""
    return min(np.abs(a - b).max(), np.abs(a + b).max()) < 1e-5


@pytest.fixture(scope="module")
def clip() -> MotionClip:
    """Rest frames, a walk, the left elbow turned in one frame and the jaw open in the last."""
    clip = MotionClip.rest(NUM_FRAMES)
    elbow = layout.JOINT_NAMES.index(ELBOW) * layout.AXIS_ANGLE_DIM
    clip.poses[ROTATED_FRAME, elbow : elbow + layout.AXIS_ANGLE_DIM] = ELBOW_AXIS_ANGLE
    jaw = layout.FACE_JAW.pose_columns[layout.JAW_OPENING_AXIS]
    clip.poses[-1, jaw] = np.radians(JAW_OPENING_DEG)
    clip.trans[:] = np.linspace(0.0, 0.2, NUM_FRAMES)[:, None] * [1.0, 0.1, -0.5]
    return clip


@pytest.fixture(scope="module")
def vrma(clip, tmp_path_factory) -> dict[tuple[str, str], np.ndarray]:
    """{(node name, "rotation" | "translation"): (T, 3 | 4) keys} of the clip's ``.vrma``
    (the closing key dropped)."""
    glb = Glb(write_vrma(clip, tmp_path_factory.mktemp("vmc") / "motion.vrma"))
    (animation,) = glb.json["animations"]
    keys = {}
    for channel in animation["channels"]:
        node = glb.json["nodes"][channel["target"]["node"]]["name"]
        output = animation["samplers"][channel["sampler"]]["output"]
        keys[node, channel["target"]["path"]] = glb.accessor(output)[:-1]
    return keys


@pytest.fixture(scope="module")
def received(clip) -> tuple[list[Frame], list[bool], float]:
    """The clip sent at once, then its first three frames played at their times: the frames
    received, whether each came as a bundle, and how long the playing took (s)."""
    with VmcReceiver() as receiver, VmcSender("127.0.0.1", receiver.port) as sender:
        sender.send(clip)
        started = time.perf_counter()
        sender.play(clip.frames(0, 3))
        played_s = time.perf_counter() - started
        assert sender.frames_sent == NUM_FRAMES + 3
        frames = receiver.wait_for(NUM_FRAMES + 3)
        return frames, receiver.bundled, played_s


def test_every_frame_is_one_bundle_with_every_bone(received):
    frames, bundled, _ = received
    assert all(bundled)
    names = [bone.unity for bone in HUMAN_BONES]
    assert set(UNITY_BONES) <= set(names) and len(set(names)) == len(HUMAN_BONES) == 53
    for index, frame in enumerate(frames):
        addresses = [address for address, _ in frame]
        assert addresses[0] == "/VMC/Ext/OK" and frame[0][1] == [1]
        assert addresses[-1] == "/VMC/Ext/Blend/Apply" and frame[-1][1] == []
        (clock,) = messages(frame, "/VMC/Ext/T")
        assert clock[0] == pytest.approx(index / layout.FPS)  # played on from the sent ones
        assert messages(frame, "/VMC/Ext/Root/Pos") == [["root", 0, 0, 0, 0, 0, 0, 1]]
        assert [arguments[0] for arguments in messages(frame, "/VMC/Ext/Bone/Pos")] == names
        (blend,) = messages(frame, "/VMC/Ext/Blend/Val")
        assert blend[0] == "A"


def test_play_sends_at_the_frames_times(received):
    _, _, played_s = received
    assert played_s >= 2 / layout.FPS  # frame 2 of the played clip waited for its time


def test_the_hips_move_as_in_the_vrma_mirrored_to_unity(received, vrma):
    frames, _, _ = received
    hips = np.array([bone_poses(frame)["Hips"][:3] for frame in frames[:NUM_FRAMES]])
    np.testing.assert_allclose(hips, vrma["hips", "translation"] * [-1, 1, 1], atol=1e-6)


def test_every_bone_turns_as_in_the_vrma_converted_to_unity(received, vrma):
    frames, _, _ = received
    for index, frame in enumerate(frames[:NUM_FRAMES]):
        poses = bone_poses(frame)
        for bone in HUMAN_BONES:
            expected = vrma[bone.vrm, "rotation"][index] * [1, -1, -1, 1]
            assert same_rotation(poses[bone.unity][3:], expected), (index, bone.vrm)


def test_only_the_turned_elbow_turns_and_by_its_angle(received):
    """Between a rest frame and the turned one, the elbow's rotation differs by the angle it
    was turned (retargeting conjugates, mirroring reflects: neither changes an angle)."""
    frames, _, _ = received
    rest, turned = bone_poses(frames[0]), bone_poses(frames[ROTATED_FRAME])
    elbow = "LeftLowerArm"
    dot = abs(float(rest[elbow][3:] @ turned[elbow][3:]))
    angle = 2 * np.arccos(min(dot, 1.0))
    assert angle == pytest.approx(np.linalg.norm(ELBOW_AXIS_ANGLE), abs=1e-4)
    for name in rest:
        if name != elbow:
            assert same_rotation(rest[name][3:], turned[name][3:]), name


def test_bone_positions_are_the_t_pose_offsets_mirrored(received, vrma):
    """The left arm reaches to -x in Unity (to +x in SMPL-X); every bone but the hips sits at
    its fixed T-pose offset."""
    frames, _, _ = received
    first, last = bone_poses(frames[0]), bone_poses(frames[NUM_FRAMES - 1])
    assert first["LeftUpperArm"][0] < 0 < first["RightUpperArm"][0]
    assert first["LeftHand"][0] < 0 and abs(first["LeftHand"][1]) < 1e-6  # the T-pose arm
    for name in first:
        if name != "Hips":
            np.testing.assert_array_equal(first[name][:3], last[name][:3])


def test_the_mouth_blend_is_the_vrma_mouth_weight(received, vrma):
    frames, _, _ = received
    weights = [messages(frame, "/VMC/Ext/Blend/Val")[0][1] for frame in frames[:NUM_FRAMES]]
    expected = vrma[MOUTH_EXPRESSION, "translation"][:, 0]
    np.testing.assert_allclose(weights, expected, atol=1e-6)
    assert weights[0] == 0.0 and weights[-1] == pytest.approx(
        JAW_OPENING_DEG / layout.MOUTH_FULLY_OPEN_JAW_DEG, abs=1e-5
    )


def test_a_live_streams_bursts_go_out_one_frame_per_tick():
    """Bursts of six frames, as live steps make them final (one every 0.2 s), go out at 30
    fps, the first a step after it came; a burst that comes late (the stream fell behind)
    restarts the clock from itself instead of going out at once."""
    hop, delay_s, late_s = 6, 0.2, 1.1
    clock = FrameClock(delay_s)
    arrivals = [burst * hop / layout.FPS for burst in range(3) for _ in range(hop)]
    sent = [clock.send_time(arrived, layout.FPS) for arrived in arrivals]
    np.testing.assert_allclose(sent, delay_s + np.arange(3 * hop) / layout.FPS)
    late = [clock.send_time(late_s, layout.FPS) for _ in range(hop)]
    np.testing.assert_allclose(late, late_s + delay_s + np.arange(hop) / layout.FPS)


def test_a_paced_stream_sends_every_frame_in_order_after_its_delay():
    hop, delay_s = 6, 0.1
    with VmcReceiver() as receiver, VmcSender("127.0.0.1", receiver.port) as sender:
        started = time.perf_counter()
        with PacedVmcStream(sender, delay_s) as paced:
            paced.push(MotionClip.rest(hop))
            paced.push(MotionClip.rest(hop))
        frames = receiver.wait_for(2 * hop)
        arrived = np.array(receiver.arrived[: 2 * hop])
    clocks = [messages(frame, "/VMC/Ext/T")[0][0] for frame in frames]
    assert clocks == pytest.approx(np.arange(2 * hop) / layout.FPS)
    # sleeping never ends early (and a frame may arrive late): lower bounds hold
    assert arrived[0] - started >= delay_s
    assert arrived[-1] - started >= delay_s + (2 * hop - 1) / layout.FPS


def test_the_address_takes_a_host_and_an_optional_port():
    assert vmc_address("127.0.0.1:39540") == ("127.0.0.1", 39540)
    assert vmc_address("studio-pc") == ("studio-pc", DEFAULT_PORT) == ("studio-pc", 39539)
    with pytest.raises(LiveCommandError, match="--vmc takes HOST or HOST:PORT"):
        vmc_address("127.0.0.1:")


@pytest.mark.parametrize("address", ["localhost:70000", "localhost:port", ":39539", "host:0"])
def test_a_bad_vmc_address_is_one_line(address, tmp_path, capsys):
    """Checked before the speech is read (there is none here) or a model loads."""
    output = tmp_path / "m.npz"
    command = ["live", str(tmp_path / "speech.wav"), "-o", str(output), "--vmc", address]
    assert cli.main(command) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--vmc" in error and repr(address) in error
    assert not output.exists()
