// Audio in the page: WAV encoding, converting what the browser can decode to WAV,
// microphone recording (MediaRecorder), and playing a streamed 16-bit PCM WAV as it arrives.
"use strict";

(function () {
  /** A mono 16-bit PCM WAV file from float samples. */
  function encodeWav(samples, sampleRate) {
    const buf = new ArrayBuffer(44 + samples.length * 2);
    const v = new DataView(buf);
    const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
    str(0, "RIFF");
    v.setUint32(4, 36 + samples.length * 2, true);
    str(8, "WAVE");
    str(12, "fmt ");
    v.setUint32(16, 16, true);
    v.setUint16(20, 1, true);
    v.setUint16(22, 1, true);
    v.setUint32(24, sampleRate, true);
    v.setUint32(28, sampleRate * 2, true);
    v.setUint16(32, 2, true);
    v.setUint16(34, 16, true);
    str(36, "data");
    v.setUint32(40, samples.length * 2, true);
    for (let i = 0; i < samples.length; i++) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      v.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
    return new Blob([buf], { type: "audio/wav" });
  }

  /** A WAV file from the raw bytes of a 16-bit PCM stream (header sizes fixed up). */
  function wavFromPcm(pcmChunks, sampleRate) {
    const total = pcmChunks.reduce((a, c) => a + c.byteLength, 0);
    const header = new ArrayBuffer(44);
    const v = new DataView(header);
    const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
    str(0, "RIFF"); v.setUint32(4, 36 + total, true); str(8, "WAVE"); str(12, "fmt ");
    v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
    v.setUint32(24, sampleRate, true); v.setUint32(28, sampleRate * 2, true);
    v.setUint16(32, 2, true); v.setUint16(34, 16, true); str(36, "data"); v.setUint32(40, total, true);
    return new Blob([header, ...pcmChunks], { type: "audio/wav" });
  }

  let sharedCtx = null;
  function audioContext() {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!sharedCtx) sharedCtx = new AC();
    if (sharedCtx.state === "suspended") sharedCtx.resume();
    return sharedCtx;
  }

  /**
   * Decode anything the browser can play (WebM/Opus from MediaRecorder, M4A, ...) and
   * return a mono 16-bit WAV at `rate` Hz: the gateway decodes WAV/FLAC/MP3/OGG only.
   */
  async function toWav(blob, rate) {
    rate = rate || 24000;
    const bytes = await blob.arrayBuffer();
    const decoded = await audioContext().decodeAudioData(bytes);
    const frames = Math.max(1, Math.ceil(decoded.duration * rate));
    const off = new OfflineAudioContext(1, frames, rate);
    const src = off.createBufferSource();
    src.buffer = decoded; // down-mixed to mono by the 1-channel destination
    src.connect(off.destination);
    src.start();
    const out = await off.startRendering();
    return { blob: encodeWav(out.getChannelData(0), rate), duration: decoded.duration, sampleRate: rate };
  }

  /** Microphone recording with MediaRecorder, with a level meter callback. */
  class Recorder {
    constructor(onLevel) {
      this.onLevel = onLevel;
      this.chunks = [];
    }

    static supported() {
      return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder);
    }

    async start() {
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false } });
      const types = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];
      const mimeType = types.find((t) => MediaRecorder.isTypeSupported(t));
      this.rec = new MediaRecorder(this.stream, mimeType ? { mimeType } : undefined);
      this.mimeType = this.rec.mimeType || mimeType || "";
      this.chunks = [];
      this.rec.ondataavailable = (e) => { if (e.data && e.data.size) this.chunks.push(e.data); };
      this.rec.start(250);
      this.started = performance.now();
      const ctx = audioContext();
      const src = ctx.createMediaStreamSource(this.stream);
      this.analyser = ctx.createAnalyser();
      this.analyser.fftSize = 1024;
      src.connect(this.analyser);
      const buf = new Float32Array(this.analyser.fftSize);
      const tick = () => {
        if (!this.analyser) return;
        this.analyser.getFloatTimeDomainData(buf);
        let peak = 0;
        for (const x of buf) peak = Math.max(peak, Math.abs(x));
        if (this.onLevel) this.onLevel(peak, (performance.now() - this.started) / 1000);
        this.raf = requestAnimationFrame(tick);
      };
      tick();
    }

    stop() {
      return new Promise((resolve) => {
        cancelAnimationFrame(this.raf);
        this.analyser = null;
        this.rec.onstop = () => {
          this.stream.getTracks().forEach((t) => t.stop());
          resolve(new Blob(this.chunks, { type: this.mimeType || "audio/webm" }));
        };
        this.rec.stop();
      });
    }
  }

  /**
   * Plays a streamed mono 16-bit WAV while it arrives (Web Audio, scheduled back to back)
   * and keeps the PCM to build a normal WAV file at the end.
   */
  class StreamPlayer {
    constructor(sampleRateHint) {
      this.rate = sampleRateHint || 0;
      this.header = new Uint8Array(0);
      this.headerDone = false;
      this.carry = null; // an odd trailing byte
      this.pcm = [];
      this.samples = 0;
      this.ctx = audioContext();
      this.next = 0;
      this.sources = [];
    }

    push(bytes) {
      if (!this.headerDone) {
        const joined = new Uint8Array(this.header.length + bytes.length);
        joined.set(this.header);
        joined.set(bytes, this.header.length);
        if (joined.length < 44) { this.header = joined; return; }
        const v = new DataView(joined.buffer, joined.byteOffset, 44);
        const riff = String.fromCharCode(joined[0], joined[1], joined[2], joined[3]);
        if (riff === "RIFF") {
          this.rate = v.getUint32(24, true) || this.rate;
          bytes = joined.subarray(44);
        } else bytes = joined; // raw PCM
        this.headerDone = true;
      }
      if (this.carry !== null) {
        const j = new Uint8Array(bytes.length + 1);
        j[0] = this.carry;
        j.set(bytes, 1);
        bytes = j;
        this.carry = null;
      }
      if (bytes.length % 2) { this.carry = bytes[bytes.length - 1]; bytes = bytes.subarray(0, bytes.length - 1); }
      if (!bytes.length) return;
      const copy = bytes.slice();
      this.pcm.push(copy);
      const n = copy.length / 2;
      this.samples += n;
      const dv = new DataView(copy.buffer);
      const f = new Float32Array(n);
      for (let i = 0; i < n; i++) f[i] = dv.getInt16(i * 2, true) / 32768;
      const buf = this.ctx.createBuffer(1, n, this.rate);
      buf.copyToChannel(f, 0);
      const src = this.ctx.createBufferSource();
      src.buffer = buf;
      src.connect(this.ctx.destination);
      const at = Math.max(this.ctx.currentTime + 0.06, this.next);
      src.start(at);
      this.next = at + buf.duration;
      this.sources.push(src);
      src.onended = () => { this.sources = this.sources.filter((s) => s !== src); };
    }

    /** Stop playback (a new request replaces this one). */
    stop() {
      for (const s of this.sources) { try { s.stop(); } catch (e) { /* not started */ } }
      this.sources = [];
    }

    finish() {
      return { blob: wavFromPcm(this.pcm, this.rate), duration: this.samples / (this.rate || 1), sampleRate: this.rate };
    }
  }

  window.VCAudio = { encodeWav, wavFromPcm, toWav, Recorder, StreamPlayer, audioContext };
})();
