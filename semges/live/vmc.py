"""Motion to a VMC protocol receiver, so an avatar app gestures with the speech: VSeeFace,
Warudo, EVMC4U in Unity, VMC4UE in Unreal, any app with a "VMC receiver".

The VMC protocol (https://protocol.vmc.info/english) is OSC over UDP; :class:`VmcSender` is
its *Performer* (the source of the motion), the avatar app its *Marionette*. Every motion frame
is one OSC bundle (time tag "immediately": the caller paces the frames, :meth:`VmcSender.send`
at once, :meth:`VmcSender.play` at the frames' times, :class:`PacedVmcStream` at 30 fps while
a live stream makes them final in bursts), holding in this order:

- ``/VMC/Ext/OK 1``: an avatar is loaded;
- ``/VMC/Ext/T t``: the frame's time in seconds, counted from the first frame sent;
- ``/VMC/Ext/Root/Pos "root" 0 0 0 0 0 0 1``: the avatar's root stays at the origin, unturned;
- ``/VMC/Ext/Bone/Pos NAME px py pz qx qy qz qw`` for each of the 53 bones of
  :data:`semges.vrm_humanoid.HUMAN_BONES`, named as Unity's ``HumanBodyBones``
  (:attr:`~semges.vrm_humanoid.HumanBone.unity`): the bone's local rotation relative to the
  T-pose (the normalized rotations of the ``.vrma`` export, which is what VMC apps apply to
  their normalized humanoid avatars) and its local position: the T-pose offset from its parent
  bone, for the hips their position over the floor (the motion's translation included);
- ``/VMC/Ext/Blend/Val "A" w``: the open mouth, weighted by the jaw's opening as the
  ``.vrma``'s ``aa`` expression is (VMC apps name expressions as VRM 0.x did: ``A``);
- ``/VMC/Ext/Blend/Apply``: the expressions are complete.

Coordinates: :mod:`semges.vrm_humanoid` works in SMPL-X's right-handed frame (metres, y up, the
character facing +z, its left at +x); VMC speaks Unity's left-handed one (y up, z forward, x
right). Mirroring x converts one to the other: a position (x, y, z) is sent as (-x, y, z) and a
quaternion (x, y, z, w) as (x, -y, -z, w). (The mirrored rotation is M R M with
M = diag(-1, 1, 1): its axis, a pseudo-vector, becomes (x, -y, -z), its angle stays; UniVRM
imports glTF so.) The character still faces +z, its left now at -x, as a Unity humanoid's is.
"""

from __future__ import annotations

import queue
import threading
import time
from types import TracebackType

import numpy as np
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import build_msg
from pythonosc.udp_client import UDPClient

from semges.motion import MotionClip
from semges.vrm_humanoid import (
    HUMAN_BONES,
    TPoseSkeleton,
    bone_joints,
    bone_quaternions,
    hips_positions,
    mouth_weights,
    tpose_skeleton,
)

DEFAULT_PORT: int = 39539  # the port VMC receivers listen on unless told otherwise
SEND_TIMEOUT_S: float = 1.0  # a full socket buffer may hold a send this long, then it fails

OK_ADDRESS = "/VMC/Ext/OK"
TIME_ADDRESS = "/VMC/Ext/T"
ROOT_ADDRESS = "/VMC/Ext/Root/Pos"
BONE_ADDRESS = "/VMC/Ext/Bone/Pos"
BLEND_ADDRESS = "/VMC/Ext/Blend/Val"
APPLY_ADDRESS = "/VMC/Ext/Blend/Apply"
LOADED: int = 1  # /VMC/Ext/OK's first argument: an avatar is loaded
ROOT_NAME = "root"
MOUTH_BLEND = "A"  # VRM 0.x's preset for the open mouth ("ah"); VRM 1.0's "aa"
ROOT_POSITION: tuple[float, ...] = (0.0, 0.0, 0.0)
ROOT_ROTATION: tuple[float, ...] = (0.0, 0.0, 0.0, 1.0)  # the identity (x, y, z, w)
HIPS: int = 0  # HUMAN_BONES begins with the hips, the root of the humanoid

UNITY_POSITION_SIGNS = np.array([-1.0, 1.0, 1.0])  # (x, y, z) -> (-x, y, z): x mirrored
UNITY_QUATERNION_SIGNS = np.array([1.0, -1.0, -1.0, 1.0])  # (x, y, z, w) -> (x, -y, -z, w)


def to_unity_positions(positions: np.ndarray) -> np.ndarray:
    """(..., 3) positions, right-handed (ours) -> left-handed (Unity's, VMC's): x mirrored."""
    return np.asarray(positions, np.float64) * UNITY_POSITION_SIGNS


def to_unity_quaternions(quaternions: np.ndarray) -> np.ndarray:
    """(..., 4) unit quaternions (x, y, z, w), right-handed -> the same rotations mirrored in x
    for Unity's left-handed frame: (x, -y, -z, w)."""
    return np.asarray(quaternions, np.float64) * UNITY_QUATERNION_SIGNS


def _message(address: str, *arguments: str | int | float) -> OscMessage:
    return build_msg(address, list(arguments))


def frame_bundles(clip: MotionClip, tpose: TPoseSkeleton, first_frame: int = 0) -> list[OscBundle]:
    """One VMC bundle per frame of ``clip`` (see the module doc); ``first_frame``: the index of
    the clip's first frame in the whole motion (its time is ``first_frame / fps``)."""
    names = [bone.unity for bone in HUMAN_BONES]
    offsets = to_unity_positions(tpose.local_offsets()[bone_joints()])  # (B, 3)
    hips = to_unity_positions(hips_positions(clip.trans, tpose))  # (T, 3)
    rotations = to_unity_quaternions(bone_quaternions(clip, tpose))  # (T, B, 4)
    mouth = mouth_weights(clip)  # (T,)
    bundles = []
    for frame in range(clip.num_frames):
        positions = offsets.copy()
        positions[HIPS] = hips[frame]
        bundle = OscBundleBuilder(IMMEDIATELY)
        bundle.add_content(_message(OK_ADDRESS, LOADED))
        bundle.add_content(_message(TIME_ADDRESS, (first_frame + frame) / clip.fps))
        bundle.add_content(_message(ROOT_ADDRESS, ROOT_NAME, *ROOT_POSITION, *ROOT_ROTATION))
        for name, position, rotation in zip(names, positions.tolist(), rotations[frame].tolist()):
            bundle.add_content(_message(BONE_ADDRESS, name, *position, *rotation))
        bundle.add_content(_message(BLEND_ADDRESS, MOUTH_BLEND, float(mouth[frame])))
        bundle.add_content(_message(APPLY_ADDRESS))
        bundles.append(bundle.build())
    return bundles


class VmcError(OSError):
    """The receiver's host cannot be resolved or a frame cannot be sent (one line)."""


class VmcSender:
    """Sends motion frames to the VMC receiver at ``host``:``port`` over UDP, one bundle each.

    The frames sent make one motion: their ``/VMC/Ext/T`` times run on from clip to clip. The
    host is looked up here (:class:`VmcError` for an unknown one); UDP needs no receiver to
    send, so a receiver started later takes the frames from then on.
    """

    def __init__(self, host: str, port: int = DEFAULT_PORT) -> None:
        self.host, self.port = host, port
        try:
            self._client = UDPClient(host, port, timeout=SEND_TIMEOUT_S)
        except OSError as error:
            raise VmcError(f"cannot reach the VMC receiver {host}:{port}: {error}") from error
        self.frames_sent = 0
        self._tpose: TPoseSkeleton | None = None
        self._betas: np.ndarray | None = None

    def send(self, clip: MotionClip) -> None:
        """Send every frame of ``clip`` now (live: the frames that just became final)."""
        for bundle in self.bundles(clip):
            self.send_bundle(bundle)

    def play(self, clip: MotionClip) -> None:
        """Send the frames of ``clip`` at their times (frame i ``i / fps`` seconds after the
        call), returning after the last one: a motion file played to an avatar."""
        start = time.perf_counter()
        for first in range(0, clip.num_frames, clip.fps):  # one second's bundles at a time
            bundles = self.bundles(clip.frames(first, first + clip.fps))
            for index, bundle in enumerate(bundles, first):
                time.sleep(max(0.0, start + index / clip.fps - time.perf_counter()))
                self.send_bundle(bundle)

    def send_bundle(self, bundle: OscBundle) -> None:
        """Send one frame's bundle (from :meth:`bundles`)."""
        try:
            self._client.send(bundle)
        except OSError as error:
            raise VmcError(
                f"sending to the VMC receiver {self.host}:{self.port}: {error}"
            ) from error
        self.frames_sent += 1

    def bundles(self, clip: MotionClip) -> list[OscBundle]:
        """The clip's bundles, its first frame following the frames sent so far (send them
        in order with :meth:`send_bundle`)."""
        if self._tpose is None or not np.array_equal(self._betas, clip.betas):
            self._tpose, self._betas = tpose_skeleton(clip.betas), clip.betas.copy()
        return frame_bundles(clip, self._tpose, self.frames_sent)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> VmcSender:
        return self

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class FrameClock:
    """When each frame of a paced stream goes out: frame i at ``start + delay_s + i / fps``,
    ``start`` the first frame's arrival. A frame that comes after its time (the stream fell
    behind) starts the clock over from itself: it goes out ``delay_s`` after it came, the next
    ones on from it."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self._anchor: tuple[float, int] | None = None  # (when frame k goes out, k)
        self._frames = 0

    def send_time(self, arrived: float, fps: int) -> float:
        """The send time of the next frame, which arrived at ``arrived`` (seconds)."""
        due = None
        if self._anchor is not None:
            due = self._anchor[0] + (self._frames - self._anchor[1]) / fps
        if due is None or arrived > due:
            self._anchor = (arrived + self.delay_s, self._frames)
            due = self._anchor[0]
        self._frames += 1
        return due


class PacedVmcStream:
    """Frames that become final in bursts (a live step makes ``hop_frames`` final at once)
    sent one by one at the motion's frame rate, ``delay_s`` after the first one arrived.

    An avatar app shows each bundle as it comes: sent as they become final, a live stream's
    frames would move the avatar in jumps five times a second. Here a thread sends them on a
    :class:`FrameClock`: ``delay_s`` (one step) keeps a frame ready for every tick. Use as a context manager: leaving it sends every
    frame queued, then stops the thread; a send error is raised from :meth:`push` or there.
    """

    def __init__(self, sender: VmcSender, delay_s: float) -> None:
        self.sender, self.delay_s = sender, delay_s
        self._clips: queue.Queue[tuple[MotionClip, float] | None] = queue.Queue()
        self._error: VmcError | None = None
        self._thread = threading.Thread(target=self._run, name="vmc-pacer", daemon=True)
        self._thread.start()

    def push(self, clip: MotionClip) -> None:
        """Queue the frames of ``clip`` (the frames that just became final)."""
        self._raise_error()
        if clip.num_frames:
            self._clips.put((clip, time.perf_counter()))

    def close(self) -> None:
        """Send what is queued, then stop."""
        self._clips.put(None)
        self._thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        """Each clip's bundles built once, then sent one by one on the clock."""
        clock = FrameClock(self.delay_s)
        while (item := self._clips.get()) is not None:
            if self._error is not None:
                continue  # drain: the error is raised in the caller's thread
            clip, arrived = item
            try:
                for bundle in self.sender.bundles(clip):
                    due = clock.send_time(arrived, clip.fps)
                    time.sleep(max(0.0, due - time.perf_counter()))
                    self.sender.send_bundle(bundle)
            except VmcError as error:
                self._error = error

    def __enter__(self) -> PacedVmcStream:
        return self

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
