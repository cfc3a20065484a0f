// The Live page: Start/Stop, the body moving with the voice, the latency readout, stage view.
//
// window.semgesLivePage.attach(root) wires up the page's HTML (webapp/live_page.py) once and
// returns its controls (also window.semgesLive, which the browser test and benchmark read).
// The body is drawn on every display frame while live; at rest only when the view changes.
// Stage view, for a projector: the body alone on a plain background filling the window
// (full screen where the browser allows); the STAGE_KEY enters and leaves it, Escape leaves.
(() => {
  "use strict";

  const STAGE_KEY = "f";
  // The motion has 30 frames a second; drawing every display frame of a 60 Hz screen would
  // double the drawing work (on the CPU, with software WebGL, the whole of it) for the same
  // poses interpolated twice as finely. The slack keeps a 60 Hz display's every other frame.
  const MAX_DRAW_FPS = 30;
  const DRAW_SLACK_MS = 4;
  const BEHIND_WARNING_MS = 1500; // the readout warns when the body is this far behind
  const READOUT_EVERY_MS = 500;
  const FPS_WINDOW_MS = 1000; // the readout's draw rate: display frames over the last second
  const MS_PER_S = 1000;
  const MEDIAN = 0.5;
  const P95 = 0.95;
  const STAGE_CLASS = "semges-live-on-stage"; // on <html>: only the body shows

  function seconds(ms) {
    return ms === null ? "–" : `${(ms / MS_PER_S).toFixed(2)} s`;
  }

  function attach(root) {
    const { LiveBody } = window.semgesLiveBody;
    const { LiveStream, BusyError } = window.semgesLiveStream;
    const frame = root.querySelector(".live-view");
    const stageArea = root.querySelector(".live-body");
    const startButton = root.querySelector(".live-start");
    const stopButton = root.querySelector(".live-stop");
    const message = root.querySelector(".live-message");
    const readout = root.querySelector(".live-readout");
    const settings = frame.dataset;
    const body = new LiveBody(stageArea, settings.background);
    const drawTimes = []; // page ms of the display frames drawn in the last FPS_WINDOW_MS
    const live = {
      state: "loading", // loading -> idle -> starting -> live -> stopping -> idle
      stream: null,
      lastStream: null, // the stream of the current or the last session (its numbers stay)
      framesDrawn: 0,
      liveDrawStartedAt: null,
      liveFramesDrawn: 0,
      error: null,
      stats,
      start,
      stop,
      toggleStage,
      body,
    };
    let dirty = true; // at rest: draw once more
    let lastDraw = null;

    function say(text, isError = false) {
      message.textContent = text;
      message.classList.toggle("live-error", isError);
    }

    function setState(state) {
      live.state = state;
      frame.dataset.state = state;
      startButton.disabled = state !== "idle";
      stopButton.disabled = state !== "live";
    }

    /** Draw rate (frames per second) over the last FPS_WINDOW_MS. */
    function drawRate() {
      if (drawTimes.length < 2) {
        return 0;
      }
      const span = drawTimes[drawTimes.length - 1] - drawTimes[0];
      return span > 0 ? ((drawTimes.length - 1) * MS_PER_S) / span : 0;
    }

    /** Everything the readout, the test and the benchmark read. */
    function stats() {
      const stream = live.lastStream;
      const player = stream && stream.player;
      const elapsed = live.liveDrawStartedAt === null ? 0 : lastDraw - live.liveDrawStartedAt;
      return {
        state: live.state,
        error: live.error,
        fps: drawRate(),
        renderScale: body.renderScale,
        liveFps: elapsed > 0 ? (live.liveFramesDrawn * MS_PER_S) / elapsed : 0,
        framesDrawn: live.framesDrawn,
        liveFramesDrawn: live.liveFramesDrawn,
        startedAt: stream ? stream.startedAt : null,
        audioOffsetMs: player ? player.offsetMs : null,
        firstFrameAt: player ? player.firstFrameAt : null,
        movedAt: player ? player.movedAt : null,
        movedTime: player ? player.movedTime : null,
        movedOffsetMs: player ? player.movedOffsetMs : null,
        framesReceived: player ? player.framesReceived : 0,
        samplesCaptured: stream ? stream.samplesCaptured : 0,
        samplesSent: stream ? stream.sentSamples : 0,
        requests: stream ? stream.requests : 0,
        serverComputeMs: stream ? stream.computeMs : 0,
        delayMs: player ? player.delayMs : null,
        bufferedS: player ? player.bufferedS() : 0,
        underruns: player ? player.underruns : 0,
        droppedS: player ? player.droppedS : 0,
        latencyCount: player ? player.shownLatency.count : 0,
        latencyP50Ms: player ? player.shownLatency.percentile(MEDIAN) : null,
        latencyP95Ms: player ? player.shownLatency.percentile(P95) : null,
        sessionLatencyP50Ms: player ? player.sessionLatency.percentile(MEDIAN) : null,
        sessionLatencyP95Ms: player ? player.sessionLatency.percentile(P95) : null,
        arrivalP50Ms: player ? player.arrivalLatency.percentile(MEDIAN) : null,
        arrivalP95Ms: player ? player.arrivalLatency.percentile(P95) : null,
        pieceWaitP95Ms: stream ? stream.waitMs.percentile(P95) : null,
        roundTripP50Ms: stream ? stream.roundTripMs.percentile(MEDIAN) : null,
        roundTripP95Ms: stream ? stream.roundTripMs.percentile(P95) : null,
        lookaheadS: stream && stream.session ? stream.session.lookahead_s : null,
      };
    }

    function showReadout() {
      const s = stats();
      if (live.state !== "live" && live.state !== "stopping") {
        readout.textContent = s.latencyCount
          ? `Last session: voice → motion ${seconds(s.latencyP50Ms)} (95%: ` +
            `${seconds(s.latencyP95Ms)}), drawn at ${s.liveFps.toFixed(0)} fps`
          : "";
        return;
      }
      readout.textContent =
        `Voice → motion ${seconds(s.latencyP50Ms)} (95%: ${seconds(s.latencyP95Ms)}) · ` +
        `${s.fps.toFixed(0)} fps · buffered ${s.bufferedS.toFixed(2)} s`;
      const behind = s.delayMs !== null && s.delayMs > BEHIND_WARNING_MS;
      readout.classList.toggle("live-behind", behind);
      if (behind) {
        readout.textContent += " · the server is busy: the body is behind your voice";
      }
    }

    function draw(now) {
      requestAnimationFrame(draw);
      if (lastDraw !== null && now - lastDraw < MS_PER_S / MAX_DRAW_FPS - DRAW_SLACK_MS) {
        return;
      }
      const stream = live.stream;
      if (stream !== null && stream.player !== null) {
        const pose = stream.player.sample(now, lastDraw === null ? 0 : now - lastDraw);
        if (pose !== null) {
          body.setPose(pose.a, pose.b, pose.alpha);
          body.follow(lastDraw === null ? 0 : now - lastDraw);
          if (live.liveDrawStartedAt === null) {
            live.liveDrawStartedAt = now;
          }
          live.liveFramesDrawn += 1;
        }
        dirty = true;
      }
      if (dirty) {
        body.render(now);
        live.framesDrawn += 1;
        drawTimes.push(now);
        while (now - drawTimes[0] > FPS_WINDOW_MS) {
          drawTimes.shift();
        }
        dirty = stream !== null;
      }
      lastDraw = now;
    }

    async function start() {
      if (live.state !== "idle") {
        return;
      }
      setState("starting");
      live.error = null;
      say("Starting: allow the microphone if the browser asks…");
      const stream = new LiveStream(settings.api, settings.worklet, (text) => {
        live.error = text;
        say(text, true);
        finish();
      });
      try {
        await stream.start();
      } catch (error) {
        const busy = error instanceof BusyError;
        const denied = error && error.name === "NotAllowedError";
        live.error = busy ? error.message : `${error.message || error}`;
        say(
          denied
            ? "The browser did not allow the microphone: allow it for this page and press Start again."
            : live.error,
          true,
        );
        setState("idle");
        return;
      }
      live.stream = live.lastStream = stream;
      live.liveDrawStartedAt = null;
      live.liveFramesDrawn = 0;
      setState("live");
      say(`Live: speak, and the body gestures with you. Press ${STAGE_KEY.toUpperCase()} for stage view.`);
    }

    function finish() {
      live.stream = null;
      body.showRest();
      dirty = true;
      setState("idle");
    }

    async function stop() {
      if (live.state !== "live") {
        return;
      }
      setState("stopping");
      const stream = live.stream;
      live.stream = null; // the body holds its last pose; the readout keeps the live numbers
      try {
        await stream.stop();
        say("Stopped. Press Start to speak again.");
      } catch (error) {
        say(`Stopped (${error.message || error}).`, true);
      }
      finish();
    }

    function toggleStage(on) {
      const entering = on === undefined ? !document.documentElement.classList.contains(STAGE_CLASS) : on;
      document.documentElement.classList.toggle(STAGE_CLASS, entering);
      frame.classList.toggle("live-on-stage", entering);
      if (entering && frame.requestFullscreen && !document.fullscreenElement) {
        frame.requestFullscreen().catch(() => {}); // refused (no gesture, iframe): window only
      } else if (!entering && document.fullscreenElement) {
        document.exitFullscreen().catch(() => {});
      }
      body.resize();
      dirty = true;
    }

    window.addEventListener("keydown", (event) => {
      const typing = event.target.closest && event.target.closest("input, textarea, select");
      if (typing || event.ctrlKey || event.metaKey || event.altKey) {
        return;
      }
      if (event.key.toLowerCase() === STAGE_KEY) {
        toggleStage();
      } else if (event.key === "Escape") {
        toggleStage(false);
      }
    });
    document.addEventListener("fullscreenchange", () => {
      if (!document.fullscreenElement && frame.classList.contains("live-on-stage")) {
        toggleStage(false); // Escape in full screen leaves it before the page sees the key
      }
    });
    body.controls.addEventListener("change", () => {
      dirty = true;
    });
    startButton.addEventListener("click", start);
    stopButton.addEventListener("click", stop);
    root.querySelector(".live-stage-button").addEventListener("click", () => toggleStage(true));
    window.addEventListener("pagehide", () => {
      if (live.stream !== null) {
        live.stream.abandon(); // and were it lost, the server closes a silent session anyway
      }
    });
    setInterval(showReadout, READOUT_EVERY_MS);
    requestAnimationFrame(draw);
    body
      .load(settings.glb, JSON.parse(settings.joints))
      .then(() => {
        setState("idle");
        say("Press Start and speak: the body gestures with your voice.");
        dirty = true;
      })
      .catch((error) => {
        live.error = `${error.message || error}`;
        say(`The body could not be loaded: ${live.error}`, true);
      });
    window.semgesLive = live;
    return live;
  }

  window.semgesLivePage = { attach };
})();
