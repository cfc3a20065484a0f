// The Live page's stream: microphone -> server -> motion frames -> a jitter buffer.
//
// window.semgesLiveStream = { LiveStream, Player, BusyError }.
//
// Microphone: getUserMedia + an AudioWorklet (live_capture_worklet.js) that resamples to the
// generator's 16 kHz and posts 20 ms chunks; each chunk is stamped with the page's clock
// (performance.now()) as it arrives, which maps audio time to the page time it was captured.
// Link: one HTTP POST per piece (webapp/live_routes.py says why HTTP), sent as soon as the
// audio reaches what the server's next step needs (each reply says how much that is), so every
// piece completes a step and no step waits for a timer; one piece in flight at a time, what was
// recorded meanwhile goes with the next one, so a slow server gets bigger pieces, not a
// backlog. Each reply holds the frames that became final.
// Player: frames carry their audio time; the body is drawn at audio time
// (now - captureOffset - delay), interpolating between the two frames around it, where the
// delay follows how late frames arrive (their lateness over the last seconds plus a margin),
// so the body moves smoothly, as little behind the voice as the server allows. The latency
// it reports is exactly that: page time a frame is drawn minus page time its audio arrived.
(() => {
  "use strict";

  const CHUNK_S = 0.02; // the worklet posts 20 ms of audio at a time
  // Capture stamps kept; the audio clock's offset is their minimum. Short, because the audio
  // clock loses time when its thread is starved of CPU (measured: 0.43 s over 12 s with the
  // server and software WebGL on 2 cores): over a 5 s window the minimum lagged that loss by up
  // to 0.18 s, and every frame looked that much later than its audio had really arrived. A
  // second still holds 50 chunks, enough for the promptly delivered ones to set the minimum.
  const CLOCK_WINDOW_MS = 1000;
  // Audio waiting to be sent beyond this means the server cannot keep up: the oldest is
  // dropped, so the body stays close behind the voice (it skips ahead) instead of falling
  // further behind every second of a long talk.
  const MAX_BACKLOG_S = 1.0;
  const LATENESS_WINDOW_MS = 4000; // frame lateness remembered when choosing the delay ...
  // ... except a spike: lateness above the SPIKE_QUANTILE of the last LATENESS_HISTORY_MS is
  // remembered for SPIKE_MEMORY_MS only. A server hiccup (a step taking 0.4 s instead of 0.13,
  // every 30 s or so on a shared 2-core machine) otherwise kept the whole body that much later
  // for 4 s plus the catch-up; replaying recorded page sessions through both players, this cut
  // the drawn latency's p95 by 0.03-0.22 s for 3-5 more short holds a minute.
  const LATENESS_HISTORY_MS = 20000;
  const SPIKE_QUANTILE = 0.95;
  const SPIKE_MEMORY_MS = 1000;
  const DELAY_MARGIN_MS = 10; // the delay above the latest frame's lateness
  const DELAY_DECAY_MS_PER_S = 150; // how fast the delay shrinks when frames come sooner: the
  // body plays up to 15 % fast until it has caught up (after a hiccup of the server, say)
  const KEEP_PLAYED_S = 1; // frames kept behind the drawn time (then dropped: bounded memory)
  const LATENCY_SAMPLES = 3600; // latencies kept for the percentiles: the last 2 min at 30 fps
  const HISTOGRAM_BIN_MS = 10; // the whole session's latencies, to 10 ms ...
  const HISTOGRAM_MAX_MS = 10000; // ... up to 10 s
  const MOVED_DEG = 2; // a joint turned this far from the first frame drawn: the body moves
  const FLOAT32_BYTES = 4;
  const INT16_BYTES = 2;
  const ROOT_DIM = 3;
  const QUATERNION_DIM = 4;
  const MS_PER_S = 1000;

  class BusyError extends Error {}

  /** The newest `capacity` numbers, and their percentiles. */
  class Ring {
    constructor(capacity) {
      this.values = new Float64Array(capacity);
      this.count = 0;
    }

    add(value) {
      this.values[this.count % this.values.length] = value;
      this.count += 1;
    }

    percentile(fraction) {
      const size = Math.min(this.count, this.values.length);
      if (size === 0) {
        return null;
      }
      const sorted = Float64Array.from(this.values.subarray(0, size)).sort();
      return sorted[Math.min(size - 1, Math.floor(fraction * size))];
    }
  }

  /** Counts of values in BIN_MS bins up to MAX_MS (above: the last bin): the whole
   * session's percentiles in constant memory, however long the talk. */
  class Histogram {
    constructor() {
      this.bins = new Uint32Array(HISTOGRAM_MAX_MS / HISTOGRAM_BIN_MS + 1);
      this.count = 0;
    }

    add(ms) {
      const bin = Math.min(this.bins.length - 1, Math.max(0, Math.floor(ms / HISTOGRAM_BIN_MS)));
      this.bins[bin] += 1;
      this.count += 1;
    }

    /** The upper edge of the bin holding the `fraction` quantile (ms), or null when empty. */
    percentile(fraction) {
      if (this.count === 0) {
        return null;
      }
      let seen = 0;
      for (let bin = 0; bin < this.bins.length; bin += 1) {
        seen += this.bins[bin];
        if (seen >= fraction * this.count) {
          return (bin + 1) * HISTOGRAM_BIN_MS;
        }
      }
      return HISTOGRAM_MAX_MS;
    }
  }

  /** Received frames, played back on the capture clock with an adaptive delay. */
  class Player {
    constructor(wire) {
      this.frameBytes = wire.frame_bytes;
      this.scale = wire.quaternion_scale;
      this.joints = wire.joints.length;
      this.fps = wire.fps;
      this.frames = []; // {time (audio s), root: Float32Array(3), quats: Float32Array(J * 4)}
      this.stamps = []; // [page ms, page ms - audio ms]: when audio up to a time had arrived
      this.offsetMs = null; // page ms at which audio time 0 was captured
      this.lateness = []; // [page ms, ms]: how old the oldest frame of a reply was on arrival
      this.delayMs = null; // drawn audio time = (now - offset - delay) / 1000
      this.lastDrawnTime = -Infinity;
      this.framesReceived = 0;
      this.underruns = 0; // draws that had to hold the newest frame: no frame for that time yet
      this.shownLatency = new Ring(LATENCY_SAMPLES); // ms from capture to drawn, per frame
      this.arrivalLatency = new Ring(LATENCY_SAMPLES); // ms from capture to received
      this.sessionLatency = new Histogram(); // shownLatency over the whole session
      this.firstFrameAt = null; // page ms when the first frame was drawn
      this.firstQuats = null; // that frame's rotations
      this.movedAt = null; // page ms when a drawn frame first differed from it by MOVED_DEG
      this.movedTime = null; // that frame's audio time
      this.movedOffsetMs = null; // the audio clock's offset then
      this.skips = []; // [sent-stream s, captured s dropped there]: audio the server never got
      this.droppedS = 0;
    }

    /** `droppedS` of audio was dropped where the sent stream stood at `sentS` seconds. */
    noteSkip(sentS, droppedS) {
      this.skips.push([sentS, droppedS]);
      this.droppedS += droppedS;
    }

    /** A frame's time in the sent stream -> its time in the captured audio. */
    capturedTime(sentS) {
      let time = sentS;
      for (const [at, dropped] of this.skips) {
        if (at <= sentS) {
          time += dropped;
        }
      }
      return time;
    }

    /** Note when the body first moves away from the first pose drawn. */
    noteMovement(frame, pageMs) {
      if (this.firstQuats === null) {
        this.firstQuats = frame.quats;
        return;
      }
      const cosHalf = Math.cos(((MOVED_DEG / 2) * Math.PI) / 180);
      for (let at = 0; at < frame.quats.length; at += QUATERNION_DIM) {
        let dot = 0;
        for (let i = 0; i < QUATERNION_DIM; i += 1) {
          dot += frame.quats[at + i] * this.firstQuats[at + i];
        }
        if (Math.abs(dot) < cosHalf) {
          this.movedAt = pageMs;
          this.movedTime = frame.time;
          this.movedOffsetMs = this.offsetMs;
          return;
        }
      }
    }

    /** Audio up to `audioEndS` (seconds since Start) had reached the page at `pageMs`. */
    noteCapture(audioEndS, pageMs) {
      this.stamps.push([pageMs, pageMs - audioEndS * MS_PER_S]);
      while (pageMs - this.stamps[0][0] > CLOCK_WINDOW_MS) {
        this.stamps.shift();
      }
      // Delivery only ever adds delay, so the smallest offset is the truest. Over a window,
      // not all time: an audio clock that drifts from the page's, or loses time (an audio
      // thread starved of CPU renders less than real time), would otherwise add up all talk.
      this.offsetMs = Math.min(...this.stamps.map((stamp) => stamp[1]));
    }

    /** Read a reply's frames (webapp/live_frames.py's layout) that arrived at `pageMs`. */
    addFrames(buffer, pageMs) {
      const view = new DataView(buffer);
      const count = Math.floor(buffer.byteLength / this.frameBytes);
      let latest = -Infinity;
      for (let f = 0; f < count; f += 1) {
        let at = f * this.frameBytes;
        const time = this.capturedTime(view.getFloat32(at, true));
        at += FLOAT32_BYTES;
        const root = new Float32Array(ROOT_DIM);
        for (let i = 0; i < ROOT_DIM; i += 1, at += FLOAT32_BYTES) {
          root[i] = view.getFloat32(at, true);
        }
        const quats = new Float32Array(this.joints * QUATERNION_DIM);
        for (let i = 0; i < quats.length; i += 1, at += INT16_BYTES) {
          quats[i] = view.getInt16(at, true) / this.scale;
        }
        this.frames.push({ time, root, quats });
        if (this.offsetMs !== null) {
          const late = pageMs - (this.offsetMs + time * MS_PER_S);
          this.arrivalLatency.add(late);
          latest = Math.max(latest, late);
        }
      }
      this.framesReceived += count;
      if (latest > -Infinity) {
        this.lateness.push([pageMs, latest]);
        const target = this.targetDelay(pageMs);
        if (this.delayMs === null || target > this.delayMs) {
          this.delayMs = target; // later frames: wait for them at once (the body holds briefly)
        }
      }
    }

    /** The delay the recent replies ask for: the latest of them, spikes only briefly. */
    targetDelay(pageMs) {
      while (this.lateness.length > 1 && pageMs - this.lateness[0][0] > LATENESS_HISTORY_MS) {
        this.lateness.shift();
      }
      const sorted = this.lateness.map((entry) => entry[1]).sort((a, b) => a - b);
      const spike = sorted[Math.min(sorted.length - 1, Math.floor(SPIKE_QUANTILE * sorted.length))];
      let latest = -Infinity;
      for (const [at, late] of this.lateness) {
        const age = pageMs - at;
        if (age <= SPIKE_MEMORY_MS || (age <= LATENESS_WINDOW_MS && late <= spike)) {
          latest = Math.max(latest, late);
        }
      }
      if (latest === -Infinity) {
        latest = this.lateness[this.lateness.length - 1][1]; // a quiet spell: the last reply
      }
      return latest + DELAY_MARGIN_MS;
    }

    /** What to draw at page time `pageMs`: {a, b, alpha} (b may equal a), or null: nothing yet. */
    sample(pageMs, elapsedMs) {
      if (this.frames.length === 0 || this.offsetMs === null || this.delayMs === null) {
        return null;
      }
      const target = this.targetDelay(pageMs);
      if (target < this.delayMs) {
        this.delayMs = Math.max(target, this.delayMs - (DELAY_DECAY_MS_PER_S * elapsedMs) / MS_PER_S);
      }
      const time = (pageMs - this.offsetMs - this.delayMs) / MS_PER_S;
      const frames = this.frames;
      if (time < frames[0].time) {
        return null; // the first frame's time has not come yet
      }
      let index = 0;
      while (index + 1 < frames.length && frames[index + 1].time <= time) {
        index += 1;
      }
      const a = frames[index];
      const b = index + 1 < frames.length ? frames[index + 1] : a;
      if (b === a && time > a.time + 1 / this.fps) {
        this.underruns += 1;
      }
      for (const frame of frames) {
        if (frame.time > a.time) {
          break;
        }
        if (frame.time > this.lastDrawnTime) {
          const latency = pageMs - (this.offsetMs + frame.time * MS_PER_S);
          this.shownLatency.add(latency);
          this.sessionLatency.add(latency);
        }
      }
      if (this.firstFrameAt === null) {
        this.firstFrameAt = pageMs;
      }
      if (this.movedAt === null) {
        this.noteMovement(a, pageMs);
      }
      this.lastDrawnTime = Math.max(this.lastDrawnTime, a.time);
      while (frames.length > 2 && frames[0].time < time - KEEP_PLAYED_S) {
        frames.shift();
      }
      const alpha = b === a ? 0 : (time - a.time) / (b.time - a.time);
      return { a, b, alpha };
    }

    /** Frames received but not drawn yet, in seconds of motion. */
    bufferedS() {
      if (this.frames.length === 0) {
        return 0;
      }
      return Math.max(0, this.frames[this.frames.length - 1].time - this.lastDrawnTime);
    }
  }

  /** The microphone at 16 kHz: onChunk(Float32Array, pageMs) for every 20 ms of audio. */
  class Microphone {
    constructor(workletUrl, sampleRate, onChunk) {
      this.workletUrl = workletUrl;
      this.sampleRate = sampleRate;
      this.onChunk = onChunk;
    }

    async start() {
      this.media = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: true },
      });
      this.context = new AudioContext({ latencyHint: "interactive" });
      await this.context.audioWorklet.addModule(this.workletUrl);
      this.source = this.context.createMediaStreamSource(this.media);
      this.node = new AudioWorkletNode(this.context, "semges-live-capture", {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        processorOptions: {
          targetRate: this.sampleRate,
          chunkSamples: Math.round(CHUNK_S * this.sampleRate),
        },
      });
      this.node.port.onmessage = (event) => this.onChunk(event.data, performance.now());
      this.mute = this.context.createGain(); // the node runs only when something pulls it
      this.mute.gain.value = 0;
      this.source.connect(this.node).connect(this.mute).connect(this.context.destination);
      await this.context.resume();
    }

    stop() {
      if (this.node) {
        this.node.port.onmessage = null;
        this.source.disconnect();
        this.node.disconnect();
        this.mute.disconnect();
      }
      if (this.media) {
        this.media.getTracks().forEach((track) => track.stop());
      }
      if (this.context) {
        this.context.close().catch(() => {});
      }
      this.node = this.media = this.context = null;
    }
  }

  async function errorText(response) {
    try {
      return (await response.json()).error || `the server answered ${response.status}`;
    } catch (_) {
      return `the server answered ${response.status}`;
    }
  }

  /** One live session: Start opens it, the microphone feeds it, Stop flushes and closes it. */
  class LiveStream {
    constructor(api, workletUrl, onError) {
      this.api = api;
      this.workletUrl = workletUrl;
      this.onError = onError; // (message): the stream has stopped because of it
      this.player = null;
      this.session = null;
      this.pending = []; // chunks recorded, not sent yet
      this.pendingSamples = 0;
      this.samplesCaptured = 0;
      this.inFlight = null; // the request on its way, if any
      this.stopping = false;
      this.startedAt = null; // page ms when the microphone started
      this.requests = 0;
      this.computeMs = 0; // the server's generator time, all pieces together
      this.sentSamples = 0;
      this.waitMs = new Ring(LATENCY_SAMPLES); // a piece's newest audio: captured -> sent
      this.roundTripMs = new Ring(LATENCY_SAMPLES); // a piece: sent -> its frames received
    }

    /** Open a session and start the microphone. Throws BusyError when the stage is taken. */
    async start() {
      const response = await fetch(`${this.api}/sessions`, { method: "POST" });
      if (!response.ok) {
        const message = await errorText(response);
        throw response.status === 409 ? new BusyError(message) : new Error(message);
      }
      this.session = await response.json();
      this.player = new Player(this.session.wire);
      this.nextStepSamples = this.session.next_step_samples; // the stream's samples a step needs
      this.maxSamples = Math.floor(this.session.max_piece_bytes / FLOAT32_BYTES);
      this.microphone = new Microphone(this.workletUrl, this.session.sample_rate, (chunk, at) =>
        this.captured(chunk, at),
      );
      try {
        await this.microphone.start();
      } catch (error) {
        this.microphone.stop();
        await this.close();
        throw error;
      }
      this.startedAt = performance.now();
    }

    captured(chunk, pageMs) {
      if (this.stopping) {
        return;
      }
      this.samplesCaptured += chunk.length;
      this.player.noteCapture(this.samplesCaptured / this.session.sample_rate, pageMs);
      this.pending.push(chunk);
      this.pendingSamples += chunk.length;
      const rate = this.session.sample_rate;
      while (this.pendingSamples > MAX_BACKLOG_S * rate && this.pending.length > 1) {
        const dropped = this.pending.shift();
        this.pendingSamples -= dropped.length;
        this.player.noteSkip(this.sentSamples / rate, dropped.length / rate);
      }
      if (this.inFlight === null && this.stepReady()) {
        this.inFlight = this.sendPending().finally(() => {
          this.inFlight = null;
        });
      }
    }

    /** Whether the audio recorded completes the server's next step (or Stop sends the rest). */
    stepReady() {
      if (this.stopping) {
        return this.pendingSamples > 0;
      }
      return this.pendingSamples > 0 && this.sentSamples + this.pendingSamples >= this.nextStepSamples;
    }

    /** Everything recorded and not sent (up to the server's limit), as one float32 piece. */
    takePiece() {
      const size = Math.min(this.pendingSamples, this.maxSamples);
      const piece = new Float32Array(size);
      let filled = 0;
      while (filled < size) {
        const chunk = this.pending[0];
        const take = Math.min(chunk.length, size - filled);
        piece.set(chunk.subarray(0, take), filled);
        filled += take;
        if (take === chunk.length) {
          this.pending.shift();
        } else {
          this.pending[0] = chunk.subarray(take);
        }
      }
      this.pendingSamples -= size;
      return piece;
    }

    async sendPending() {
      while (this.stepReady()) {
        const piece = this.takePiece();
        const sentAt = performance.now();
        // how long the piece's newest audio waited in the page before going out
        const newest = this.player.capturedTime((this.sentSamples + piece.length) / this.session.sample_rate);
        this.waitMs.add(sentAt - (this.player.offsetMs + newest * MS_PER_S));
        this.sentSamples += piece.length;
        const response = await fetch(`${this.api}/sessions/${this.session.session}/audio`, {
          method: "POST",
          headers: { "content-type": "application/octet-stream" },
          body: piece.buffer,
        });
        if (!response.ok) {
          this.fail(await errorText(response));
          return;
        }
        this.received(response, await response.arrayBuffer());
        this.roundTripMs.add(performance.now() - sentAt);
      }
    }

    received(response, buffer) {
      this.player.addFrames(buffer, performance.now());
      this.requests += 1;
      this.computeMs += Number(response.headers.get("x-semges-compute-ms") || 0);
      const nextStep = response.headers.get("x-semges-next-step-samples");
      if (nextStep !== null) {
        this.nextStepSamples = Number(nextStep);
      }
    }

    fail(message) {
      if (!this.stopping) {
        this.stopping = true;
        this.microphone.stop();
        this.close().catch(() => {}); // the session may be gone already: nothing to free then
        this.onError(message);
      }
    }

    /** Stop: the microphone off, the rest sent, the session flushed and closed. */
    async stop() {
      if (this.session === null) {
        return;
      }
      const failed = this.stopping;
      this.stopping = true;
      this.microphone.stop();
      if (this.inFlight !== null) {
        await this.inFlight;
      }
      if (!failed && this.pendingSamples > 0) {
        await this.sendPending();
      }
      await this.close();
    }

    /** The page is going away: stop the session with a request that outlives the page. */
    abandon() {
      if (this.session !== null) {
        this.stopping = true;
        this.microphone.stop();
        navigator.sendBeacon(`${this.api}/sessions/${this.session.session}/stop`);
        this.session = null;
      }
    }

    async close() {
      const session = this.session;
      this.session = null;
      if (session === null) {
        return;
      }
      const sentAt = performance.now();
      const response = await fetch(`${this.api}/sessions/${session.session}/stop`, {
        method: "POST",
      });
      if (response.ok) {
        this.received(response, await response.arrayBuffer());
        this.roundTripMs.add(performance.now() - sentAt);
      }
    }
  }

  window.semgesLiveStream = { LiveStream, Player, BusyError };
})();
