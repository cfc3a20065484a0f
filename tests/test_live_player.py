"""The Live page's player (webapp/static/live_stream.js), run in node: how its delay follows
the lateness of the frames that arrive.

The replies here are what a live session sends: a reply every step (0.2 s) holding the step's
six frames, the oldest of them ``late`` ms after its audio was captured.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from semges import layout
from webapp.live_frames import wire_format

LIVE_STREAM_JS = Path(__file__).resolve().parents[1] / "webapp" / "static" / "live_stream.js"
STEP_MS = 200
FRAMES_PER_STEP = 6
USUAL_MS = 700.0  # a reply's usual lateness on a 2-core machine
MARGIN_MS = 10.0  # DELAY_MARGIN_MS in the player
TIME_MS = 0.01  # frame times travel as float32 seconds

# Feeds the replies to a Player (audio clock offset 0: audio time t was captured at page ms
# 1000 t) and answers its target delay at the asked page times.
HARNESS = r"""
const fs = require("fs");
const vm = require("vm");
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const context = { window: {}, performance: { now: () => 0 }, console };
vm.runInNewContext(fs.readFileSync(input.script, "utf8"), context);
const player = new context.window.semgesLiveStream.Player(input.wire);
const answers = [];
let asked = 0;
for (const [pageMs, times] of input.replies) {
  while (asked < input.ask.length && input.ask[asked] < pageMs) {
    answers.push(player.targetDelay(input.ask[asked]));
    asked += 1;
  }
  player.noteCapture(pageMs / 1000, pageMs);
  const buffer = new ArrayBuffer(times.length * input.wire.frame_bytes);
  const view = new DataView(buffer);
  times.forEach((time, f) => view.setFloat32(f * input.wire.frame_bytes, time, true));
  player.addFrames(buffer, pageMs);
}
while (asked < input.ask.length) {
  answers.push(player.targetDelay(input.ask[asked]));
  asked += 1;
}
process.stdout.write(JSON.stringify(answers));
"""


def target_delays(lateness_ms: list[float], ask_ms: list[float]) -> list[float]:
    """The player's target delay at ``ask_ms`` after replies every STEP_MS whose oldest frame
    is ``lateness_ms[i]`` late."""
    replies = []
    for step, late in enumerate(lateness_ms):
        page_ms = (step + 1) * STEP_MS + USUAL_MS
        oldest_s = (page_ms - late) / 1000.0
        replies.append([page_ms, [oldest_s + f / layout.FPS for f in range(FRAMES_PER_STEP)]])
    payload = {
        "script": str(LIVE_STREAM_JS),
        "wire": wire_format(),
        "replies": replies,
        "ask": ask_ms,
    }
    done = subprocess.run(
        ["node", "-e", HARNESS], input=json.dumps(payload), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def reply_time(step: int) -> float:
    return (step + 1) * STEP_MS + USUAL_MS


pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")


def test_a_lone_spike_is_waited_for_then_forgotten_within_a_second():
    lateness = [USUAL_MS] * 100  # 20 s of ordinary replies
    spike = len(lateness)
    lateness += [USUAL_MS + 400.0] + [USUAL_MS] * 20
    just_after, later = reply_time(spike) + 100, reply_time(spike) + 1500
    assert target_delays(lateness, [just_after, later]) == pytest.approx(
        [USUAL_MS + 400.0 + MARGIN_MS, USUAL_MS + MARGIN_MS], abs=TIME_MS
    )


def test_ordinary_jitter_is_remembered_for_four_seconds():
    # every other reply 100 ms later: that is how late replies usually are, not a spike
    lateness = [USUAL_MS + 100.0 * (step % 2) for step in range(120)]
    last_late = max(step for step in range(120) if step % 2)
    after = [reply_time(last_late) + 3000, reply_time(len(lateness) - 1) + 5000]
    delays = target_delays(lateness, after)
    assert delays[0] == pytest.approx(USUAL_MS + 100.0 + MARGIN_MS, abs=TIME_MS)
    # no reply in the last 4 s: the newest one sets the delay
    assert delays[1] == pytest.approx(lateness[-1] + MARGIN_MS, abs=TIME_MS)


def test_spikes_that_keep_coming_are_the_new_lateness():
    # a server slowed for good: once the later replies are the usual ones, they are kept
    lateness = [USUAL_MS] * 50 + [USUAL_MS + 300.0 + 10.0 * (step % 3) for step in range(60)]
    ask = reply_time(len(lateness) - 1) + 2000
    assert target_delays(lateness, [ask]) == pytest.approx(
        [USUAL_MS + 320.0 + MARGIN_MS], abs=TIME_MS
    )
