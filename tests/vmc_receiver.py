"""A VMC protocol receiver for tests: python-osc's BlockingOSCUDPServer on 127.0.0.1 in a
thread, recording each datagram (one frame of :mod:`semges.live.vmc`) as it arrives."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_packet import OscPacket
from pythonosc.osc_server import BlockingOSCUDPServer

RECEIVE_TIMEOUT_S = 10.0
RECEIVE_BUFFER_BYTES = 1 << 22  # a live run's bursts of frames (4.5 kB each) wait here
POLL_S = 0.01

Frame = list[tuple[str, list]]  # one bundle: its messages' addresses and arguments, in order


class VmcReceiver:
    """A VMC receiver on 127.0.0.1 at a free port: python-osc's server in a thread, its
    dispatcher recording every datagram's messages as one frame (and whether it was a bundle)."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.bundled: list[bool] = []
        self.arrived: list[float] = []  # time.perf_counter() of each frame's arrival
        receiver = self

        class Recorder(Dispatcher):
            def call_handlers_for_packet(self, data: bytes, client_address: tuple) -> list:
                receiver.arrived.append(time.perf_counter())
                packet = OscPacket(data)
                receiver.bundled.append(OscBundle.dgram_is_bundle(data))
                receiver.frames.append(
                    [(m.message.address, m.message.params) for m in packet.messages]
                )
                return []

        self.server = BlockingOSCUDPServer(("127.0.0.1", 0), Recorder())
        self.server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True
        )

    def __enter__(self) -> VmcReceiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int) -> list[Frame]:
        """The first ``count`` frames, once they have arrived."""
        deadline = time.monotonic() + RECEIVE_TIMEOUT_S
        while len(self.frames) < count and time.monotonic() < deadline:
            time.sleep(POLL_S)
        assert len(self.frames) >= count, f"{len(self.frames)} of {count} frames arrived"
        return self.frames[:count]
