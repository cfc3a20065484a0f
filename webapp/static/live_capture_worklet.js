// The Live page's microphone capture, on the audio thread: resample to the generator's rate.
//
// An AudioWorkletProcessor ("semges-live-capture") that takes the microphone at whatever rate
// the audio device runs (48 or 44.1 kHz, usually), low-pass filters and resamples it to
// processorOptions.targetRate (16 kHz) with a windowed-sinc kernel, and posts the result to
// the page in chunks of processorOptions.chunkSamples float32 samples (transferred, not
// copied). Resampling here, not with an AudioContext at 16 kHz, because Firefox refuses to
// connect a microphone to a context of another rate; this works in every browser.
(() => {
  "use strict";

  const ZERO_CROSSINGS = 8; // kernel half-width, in zero crossings of the sinc: ~70 dB stopband
  const PASSBAND = 0.9; // cutoff as a fraction of the output's Nyquist frequency
  const PHASES = 256; // kernel tables between two input samples (fractional positions)
  const HISTORY = 8192; // input samples kept (far more than a render quantum plus the kernel)

  /** Windowed-sinc resampler (Hann window), polyphase: one kernel table per 1/PHASES. */
  class Resampler {
    constructor(inputRate, outputRate) {
      this.step = inputRate / outputRate; // input samples per output sample
      const cutoff = PASSBAND * 0.5 * Math.min(1, outputRate / inputRate); // cycles per sample
      this.halfWidth = Math.ceil(ZERO_CROSSINGS / (2 * cutoff)); // input samples each side
      this.taps = 2 * this.halfWidth;
      this.table = new Float32Array((PHASES + 1) * this.taps);
      for (let phase = 0; phase <= PHASES; phase += 1) {
        const frac = phase / PHASES;
        let sum = 0;
        for (let k = 0; k < this.taps; k += 1) {
          const x = k - this.halfWidth + 1 - frac; // input sample minus output position
          const sinc = x === 0 ? 1 : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
          const window = 0.5 + 0.5 * Math.cos((Math.PI * x) / (this.halfWidth + 1));
          const value = x === 0 ? 2 * cutoff : sinc * window;
          this.table[phase * this.taps + k] = value;
          sum += value;
        }
        for (let k = 0; k < this.taps; k += 1) {
          this.table[phase * this.taps + k] /= sum; // unity gain at DC for every phase
        }
      }
      this.history = new Float32Array(HISTORY);
      this.length = this.halfWidth; // zeros before the first sample: the kernel's left half
      this.position = this.halfWidth; // next output, in history samples (the first input)
    }

    /** Feed input samples; calls emit(value) once per output sample. */
    push(input, emit) {
      if (this.length + input.length > this.history.length) {
        const keep = this.length - (Math.floor(this.position) - this.halfWidth + 1);
        this.history.copyWithin(0, this.length - keep, this.length);
        this.position -= this.length - keep;
        this.length = keep;
      }
      this.history.set(input, this.length);
      this.length += input.length;
      while (Math.floor(this.position) + this.halfWidth < this.length) {
        const base = Math.floor(this.position);
        const phase = Math.round((this.position - base) * PHASES);
        const first = base - this.halfWidth + 1;
        const offset = phase * this.taps;
        let value = 0;
        for (let k = 0; k < this.taps; k += 1) {
          value += this.history[first + k] * this.table[offset + k];
        }
        emit(value);
        this.position += this.step;
      }
    }
  }

  class CaptureProcessor extends AudioWorkletProcessor {
    constructor(options) {
      super();
      const { targetRate, chunkSamples } = options.processorOptions;
      this.resampler = new Resampler(sampleRate, targetRate);
      this.chunkSamples = chunkSamples;
      this.chunk = new Float32Array(chunkSamples);
      this.filled = 0;
      this.mono = new Float32Array(128);
      this.emit = (value) => {
        this.chunk[this.filled] = value;
        this.filled += 1;
        if (this.filled === this.chunkSamples) {
          this.port.postMessage(this.chunk, [this.chunk.buffer]);
          this.chunk = new Float32Array(this.chunkSamples);
          this.filled = 0;
        }
      };
    }

    process(inputs) {
      const channels = inputs[0];
      if (channels && channels.length > 0) {
        const frames = channels[0].length;
        if (this.mono.length !== frames) {
          this.mono = new Float32Array(frames);
        }
        this.mono.fill(0);
        for (const channel of channels) {
          for (let i = 0; i < frames; i += 1) {
            this.mono[i] += channel[i] / channels.length; // a stereo microphone: mid
          }
        }
        this.resampler.push(this.mono, this.emit);
      }
      return true;
    }
  }

  registerProcessor("semges-live-capture", CaptureProcessor);
})();
