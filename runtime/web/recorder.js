// Records the microphone and the agent's voice side by side, sample-aligned, for tests and the
// latency bench (enabled with ?record=1). Both streams go through one Web Audio graph into one
// two-channel processor, so "where in the recording" means the same instant for both:
// channel 0 is what the page sent, channel 1 is what it heard.
"use strict";

class DuplexRecorder {
  constructor(micStream, agentStream, sampleRate = 16000) {
    this.ctx = new AudioContext({ sampleRate });
    this.sampleRate = this.ctx.sampleRate;
    this.mic = [];
    this.agent = [];
    this.length = 0;
    this.startedPerfMs = null;  // performance.now() when the first recorded sample was captured
    const merger = this.ctx.createChannelMerger(2);
    this.ctx.createMediaStreamSource(micStream).connect(merger, 0, 0);
    this.ctx.createMediaStreamSource(agentStream).connect(merger, 0, 1);
    // ScriptProcessor is deprecated but needs no separate module file and is exact enough here.
    this.proc = this.ctx.createScriptProcessor(2048, 2, 1);
    merger.connect(this.proc);
    const sink = this.ctx.createGain();
    sink.gain.value = 0;  // the processor only runs when connected to the destination
    this.proc.connect(sink).connect(this.ctx.destination);
    this.proc.onaudioprocess = (e) => {
      const n = e.inputBuffer.length;
      if (this.startedPerfMs === null) {
        this.startedPerfMs = performance.now() - (n / this.sampleRate) * 1000;
      }
      this.mic.push(new Float32Array(e.inputBuffer.getChannelData(0)));
      this.agent.push(new Float32Array(e.inputBuffer.getChannelData(1)));
      this.length += n;
    };
    this.ctx.resume();
  }

  static toBase64Int16(chunks, length) {
    const pcm = new Int16Array(length);
    let o = 0;
    for (const c of chunks) {
      for (let i = 0; i < c.length; i++) pcm[o++] = Math.max(-1, Math.min(1, c[i])) * 32767;
    }
    const bytes = new Uint8Array(pcm.buffer);
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }

  // Everything recorded so far, as base64 little-endian int16 per channel.
  take() {
    return {
      sampleRate: this.sampleRate,
      samples: this.length,
      startedPerfMs: this.startedPerfMs,
      mic: DuplexRecorder.toBase64Int16(this.mic, this.length),
      agent: DuplexRecorder.toBase64Int16(this.agent, this.length),
    };
  }

  stop() {
    this.proc.onaudioprocess = null;
    this.ctx.close();
  }
}
window.DuplexRecorder = DuplexRecorder;
