// /playground: synthesis, voice extraction (upload or microphone), the voice list.
"use strict";

(function () {
  const { t, h, $, fmt, api, live, syncList, engineName, toast, copy } = VC;

  let engines = [];
  let defaultEngine = "";
  let library = [];
  let presets = [];
  let urls = { synth: null, rec: null };
  let player = null;
  let extractClip = null; // { blob, name, duration? }
  let recorder = null;

  const SAMPLES = {
    zh: "你好，欢迎使用语音克隆合成服务。今天天气很好，我们一起去公园散步吧。",
    en: "Hello, and welcome to the voice cloning service. The quick brown fox jumps over the lazy dog.",
  };

  function langName(code) {
    try {
      const dn = new Intl.DisplayNames([VC.lang === "zh" ? "zh-CN" : "en"], { type: "language" });
      const n = dn.of(code);
      return n && n !== code ? `${n} (${code})` : code;
    } catch (e) { return code; }
  }

  // ---------- engines, voices, languages ----------

  function engineLabel(e) {
    const parts = [engineName(e.name)];
    if (e.default) parts.push(t("synth.engine.default"));
    parts.push(e.nodes_ready > 0 ? t("synth.engine.ready", { n: e.nodes_ready }) : t("synth.engine.none"));
    return parts.join(" · ");
  }

  function fillSelect(sel, groups, keep) {
    const prev = keep !== undefined ? keep : sel.value;
    sel.textContent = "";
    for (const g of groups) {
      const parent = g.label ? h("optgroup", { label: g.label }) : sel;
      for (const o of g.options) parent.append(h("option", { value: o.value, disabled: o.disabled }, o.label));
      if (g.label && g.options.length) sel.append(parent);
    }
    const values = Array.from(sel.options).map((o) => o.value);
    if (values.includes(prev)) sel.value = prev;
  }

  function currentEngine() {
    return engines.find((e) => e.name === $("#synth-engine").value) || null;
  }

  function renderEngineSelects() {
    const sorted = [...engines].sort((a, b) => (b.nodes_ready > 0) - (a.nodes_ready > 0) || (b.default - a.default) || a.name.localeCompare(b.name));
    const opts = sorted.map((e) => ({ value: e.name, label: engineLabel(e) }));
    const sel = $("#synth-engine");
    const initial = !sel.value;
    const best = (sorted.find((e) => e.default && e.nodes_ready > 0) || sorted.find((e) => e.nodes_ready > 0) || sorted.find((e) => e.default) || sorted[0] || {}).name;
    fillSelect(sel, [{ options: opts }], initial ? best : undefined);
    const cloning = sorted.filter((e) => e.voice_cloning || e.nodes_ready === 0);
    const ex = $("#extract-engine");
    const exInitial = !ex.value;
    fillSelect(ex, [{ options: (cloning.length ? cloning : sorted).map((e) => ({ value: e.name, label: engineLabel(e) })) }], exInitial ? best : undefined);
    renderVoiceSelect();
    renderLanguageSelect();
  }

  function renderVoiceSelect() {
    const e = currentEngine();
    const pre = (e && e.voices) || [];
    fillSelect($("#synth-voice"), [
      { options: [{ value: "", label: t("synth.voice.default") }] },
      { label: t("synth.voice.presets"), options: pre.map((v) => ({ value: v.id, label: `${v.name || v.id} · ${v.language}` })) },
      { label: t("synth.voice.library"), options: library.map((v) => ({ value: v.id, label: `${v.name} · ${v.id}` })) },
    ]);
  }

  function renderLanguageSelect() {
    const e = currentEngine();
    const langs = (e && e.languages) || [];
    fillSelect($("#synth-language"), [
      { options: [{ value: "", label: t("synth.language.auto") }].concat(langs.map((l) => ({ value: l, label: langName(l) }))) },
    ]);
  }

  async function loadEngines() {
    try {
      const r = await api("/api/engines");
      defaultEngine = r.default_engine;
      engines = r.engines;
      renderEngineSelects();
    } catch (e) { /* offline */ }
  }

  // ---------- voice list ----------

  function renderVoices() {
    const rows = library.map((v) => ({ key: "l:" + v.id, kind: "library", v }))
      .concat(presets.map((p) => ({ key: "p:" + p.engine + ":" + p.id, kind: "preset", v: p })));
    syncList($("#voices tbody"), rows, (r) => r.key,
      (r) => h("tr", null,
        h("td", null, h("b", { class: "v-name" }), h("span", { class: "sub copyable" }, h("span", { class: "mono v-id" }), h("button", { type: "button", class: "icon-btn v-copy", onclick: (e) => copy(r.v.id, e.currentTarget) }))),
        h("td", { class: "v-kind" }), h("td", { class: "v-engine" }), h("td", { class: "v-lang" }), h("td", { class: "v-created" }),
        h("td", { class: "num" }, h("span", { class: "btn-group" },
          r.kind === "library" ? h("button", { type: "button", class: "btn small v-play", onclick: (e) => playReference(r.v, e.currentTarget) }) : null,
          h("button", { type: "button", class: "btn small v-use", onclick: () => useVoice(r.v, r.kind) })))),
      (tr, r) => {
        const v = r.v;
        tr.dataset.voiceId = v.id;
        tr.querySelector(".v-name").textContent = v.name || v.id;
        tr.querySelector(".v-id").textContent = v.id;
        tr.querySelector(".v-copy").textContent = t("common.copy");
        tr.querySelector(".v-kind").textContent = t("voices.kind." + r.kind);
        tr.querySelector(".v-engine").textContent = engineName(v.engine);
        tr.querySelector(".v-lang").textContent = r.kind === "library" ? fmt.num(v.duration_s, 1) + " s · " + fmt.num(v.sample_rate / 1000, 1) + " kHz" : langName(v.language);
        tr.querySelector(".v-created").textContent = v.created_at ? fmt.dateTime(v.created_at) : "—";
        const play = tr.querySelector(".v-play");
        if (play) play.textContent = t("voices.play");
        tr.querySelector(".v-use").textContent = t("voices.use");
      },
      t("voices.empty"));
    $("#voices-hint").textContent = t("voices.count", { l: library.length, p: presets.length });
  }

  let refAudio = null;
  function playReference(v, btn) {
    if (!refAudio) refAudio = new Audio();
    if (!refAudio.paused && refAudio.dataset.id === v.id) { refAudio.pause(); return; }
    refAudio.src = `/api/voices/${encodeURIComponent(v.id)}/audio`;
    refAudio.dataset.id = v.id;
    refAudio.play().catch(() => toast(t("voices.playFailed"), "error"));
    btn.blur();
  }

  function useVoice(v, kind) {
    if (kind === "preset" && v.engine && $("#synth-engine").value !== v.engine) {
      $("#synth-engine").value = v.engine;
      renderVoiceSelect();
      renderLanguageSelect();
    }
    $("#synth-voice").value = v.id;
    if (kind === "preset" && v.language && Array.from($("#synth-language").options).some((o) => o.value === v.language)) $("#synth-language").value = v.language;
    $("#synth-form").scrollIntoView({ behavior: "smooth", block: "start" });
    $("#synth-text").focus();
  }

  async function loadVoices() {
    try {
      const r = await api("/api/voices?limit=1000");
      library = r.voices;
      presets = r.presets;
      renderVoices();
      renderVoiceSelect();
    } catch (e) { /* offline */ }
  }

  // ---------- synthesis ----------

  function showError(prefix, e) {
    const box = $(`#${prefix}-error`);
    let title;
    if (e.status === 429) title = t("err.429", { s: e.retryAfter || "?" });
    else if (e.status === 503) title = t("err.503");
    else if (e.status === 422 || e.status === 400) title = t("err.invalid");
    else if (e.status === 413) title = t("err.413");
    else if (e.status === 0) title = t("err.networkTitle");
    else title = t("err.generic", { s: e.status });
    $(`#${prefix}-error-title`).textContent = title;
    $(`#${prefix}-error-text`).textContent = e.message + (e.type && e.status ? ` (${e.type})` : "");
    box.hidden = false;
  }

  function synthBody() {
    const body = { text: $("#synth-text").value, engine: $("#synth-engine").value || undefined };
    const voice = $("#synth-voice").value;
    if (voice) body.voice_id = voice;
    const lang = $("#synth-language").value;
    if (lang) body.language = lang;
    const speed = parseFloat($("#synth-speed").value);
    if (speed !== 1) body.speed = speed;
    if ($("#synth-stream").checked) body.stream = true;
    const format = $("#synth-format").value;
    if (format && format !== "wav") body.format = format;
    return body;
  }

  function curlFor(body) {
    const json = JSON.stringify(body).replace(/'/g, "'\\''");
    const ext = { mp3: "mp3", opus: "ogg", flac: "flac", aac: "aac", pcm: "pcm" }[body.format] || "wav";
    return `curl -X POST ${location.origin}/api/synthesize \\\n  -H 'Content-Type: application/json' \\\n  -d '${json}' \\\n  -o speech.${ext}`;
  }

  let lastMeta = null;
  let lastFormat = null;
  let lastExtract = null;

  function downloadLabel() {
    if (lastFormat) $("#synth-download").textContent = t("synth.download") + " " + (lastFormat === "pcm" ? "WAV" : lastFormat.toUpperCase());
  }

  function meta(items) {
    lastMeta = items;
    const m = $("#synth-meta");
    m.textContent = "";
    for (const [k, v] of items) if (v !== undefined && v !== null && v !== "") m.append(h("span", null, t(k) + " ", h("b", null, v)));
  }

  async function synthesize(e) {
    e.preventDefault();
    const body = synthBody();
    if (!body.text.trim()) { $("#synth-text").focus(); return; }
    const btn = $("#synth-submit");
    btn.disabled = true;
    btn.classList.add("busy");
    $("#synth-error").hidden = true;
    if (player) { player.stop(); player = null; }
    const audio = $("#synth-audio");
    audio.pause();
    const t0 = performance.now();
    try {
      const resp = await api("/api/synthesize", { method: "POST", json: body, raw: true });
      const hdr = (k) => resp.headers.get(k);
      const format = body.format || "wav";
      const rate = parseInt(hdr("x-sample-rate") || "0", 10);
      let blob, duration = parseFloat(hdr("x-audio-duration") || "0") || null, ttfa = null;
      const reader = resp.body.getReader();
      if (body.stream && (format === "wav" || format === "pcm")) {
        // 16-bit PCM: play each chunk as it arrives.
        player = new VCAudio.StreamPlayer(rate);
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (value && value.length) {
            if (ttfa === null) ttfa = performance.now() - t0;
            player.push(value);
          }
        }
        const out = player.finish();
        blob = out.blob;
        duration = out.duration;
      } else {
        const chunks = [];
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (value && value.length) {
            if (ttfa === null) ttfa = performance.now() - t0;
            chunks.push(value);
          }
        }
        // Raw PCM has no header: wrap it so the player can play it.
        blob = format === "pcm" ? VCAudio.wavFromPcm(chunks, rate) : new Blob(chunks, { type: hdr("content-type") || "audio/wav" });
        if (format === "pcm" && rate) duration = chunks.reduce((a, c) => a + c.length, 0) / 2 / rate;
      }
      if (!body.stream) ttfa = null;
      const total = performance.now() - t0;
      if (urls.synth) URL.revokeObjectURL(urls.synth);
      urls.synth = URL.createObjectURL(blob);
      audio.src = urls.synth;
      const dl = $("#synth-download");
      dl.href = urls.synth;
      const ext = { wav: "wav", pcm: "wav", mp3: "mp3", opus: "ogg", flac: "flac", aac: "aac" }[format] || "bin";
      dl.download = `vctts-${body.engine || "speech"}-${new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19)}.${ext}`;
      lastFormat = format;
      downloadLabel();
      $("#synth-result").hidden = false;
      $("#synth-result").dataset.lastBody = JSON.stringify(body);
      if (!player) audio.play().catch(() => { /* autoplay may be blocked; the player is there */ });
      const rtf = hdr("x-engine-rtf");
      meta([
        ["synth.meta.node", hdr("x-node-id")],
        ["synth.meta.duration", duration ? fmt.num(duration, 2) + " s" : null],
        ["synth.meta.total", fmt.ms(total)],
        ["synth.meta.first", ttfa !== null ? fmt.ms(ttfa) : null],
        ["synth.meta.rtf", rtf ? fmt.num(parseFloat(rtf), 3) : null],
        ["synth.meta.rate", hdr("x-sample-rate") ? fmt.num(parseInt(hdr("x-sample-rate"), 10)) + " Hz" : null],
        ["synth.meta.format", format.toUpperCase()],
        ["synth.meta.size", fmt.bytes(blob.size)],
      ]);
    } catch (err) {
      if (err instanceof VC.ApiError) showError("synth", err);
      else showError("synth", { status: -1, message: String(err.message || err) });
    } finally {
      btn.disabled = false;
      btn.classList.remove("busy");
    }
  }

  // ---------- extraction ----------

  const SERVER_FORMATS = /\.(wav|wave|flac|mp3|ogg|oga)$/i;

  function setClip(clip) {
    extractClip = clip;
    $("#extract-submit").disabled = !clip;
    if (clip && !$("#extract-name").value) $("#extract-name").value = clip.suggestedName || "";
  }

  async function chooseFile(file) {
    if (!file) return;
    $("#extract-file-name").textContent = `${file.name} · ${fmt.bytes(file.size)}`;
    $("#extract-error").hidden = true;
    if (SERVER_FORMATS.test(file.name) || /^audio\/(wav|x-wav|wave|flac|x-flac|mpeg|mp3|ogg)$/.test(file.type)) {
      setClip({ blob: file, filename: file.name, suggestedName: file.name.replace(/\.[^.]+$/, "") });
      return;
    }
    // WebM, M4A, AAC, ...: the browser decodes it, we upload WAV.
    try {
      const out = await VCAudio.toWav(file);
      $("#extract-file-name").textContent = `${file.name} → WAV · ${fmt.num(out.duration, 1)} s`;
      setClip({ blob: out.blob, filename: file.name.replace(/\.[^.]+$/, "") + ".wav", suggestedName: file.name.replace(/\.[^.]+$/, "") });
    } catch (e) {
      setClip(null);
      showError("extract", { status: 415, message: t("extract.cannotDecode", { f: file.name }) });
    }
  }

  function setTab(name) {
    document.querySelectorAll(".tabs [data-tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
    document.querySelectorAll("[data-panel]").forEach((p) => { p.hidden = p.dataset.panel !== name; });
    setClip(null);
    if (name === "upload") {
      const f = $("#extract-file").files[0];
      if (f) chooseFile(f);
    } else if (urls.rec && recorded) setClip(recorded);
  }

  let recorded = null;
  async function toggleRecord() {
    const btn = $("#rec-btn");
    if (recorder) {
      const r = recorder;
      recorder = null;
      btn.classList.remove("on");
      btn.textContent = t("extract.rec.start");
      clearTimeout(r.limitTimer);
      const blob = await r.stop();
      $("#rec-level").style.width = "0";
      try {
        const out = await VCAudio.toWav(blob);
        if (urls.rec) URL.revokeObjectURL(urls.rec);
        urls.rec = URL.createObjectURL(out.blob);
        const a = $("#rec-audio");
        a.src = urls.rec;
        a.hidden = false;
        recorded = { blob: out.blob, filename: "recording.wav", suggestedName: t("extract.rec.name") + " " + new Date().toLocaleTimeString(VC.lang === "zh" ? "zh-CN" : "en-US", { hour12: false }) };
        recorded.duration = out.duration;
        $("#rec-time").textContent = fmtClock(out.duration);
        if (out.duration < 1) showError("extract", { status: 422, message: t("extract.rec.short") });
        setClip(recorded);
      } catch (e) {
        showError("extract", { status: 415, message: t("extract.rec.decodeFailed", { m: r.mimeType }) });
      }
      return;
    }
    if (!VCAudio.Recorder.supported()) {
      showError("extract", { status: 0, message: t("extract.rec.unsupported") });
      return;
    }
    $("#extract-error").hidden = true;
    const r = new VCAudio.Recorder((peak, secs) => {
      $("#rec-level").style.width = Math.min(100, peak * 140) + "%";
      $("#rec-time").textContent = fmtClock(secs);
    });
    try {
      await r.start();
    } catch (e) {
      showError("extract", { status: 0, message: t("extract.rec.denied", { m: e.message || e.name }) });
      return;
    }
    recorder = r;
    r.limitTimer = setTimeout(() => { if (recorder === r) toggleRecord(); }, 60000);
    btn.classList.add("on");
    btn.textContent = t("extract.rec.stop");
    setClip(null);
  }

  function fmtClock(s) {
    s = Math.max(0, s || 0);
    return Math.floor(s / 60) + ":" + String(Math.floor(s % 60)).padStart(2, "0");
  }

  function renderExtract(r) {
    const box = $("#extract-result");
    box.textContent = "";
    const dl = h("dl", { class: "kv" });
    const add = (k, v) => dl.append(h("dt", null, t(k)), h("dd", null, v));
    add("extract.r.id", r.voice_id);
    add("extract.r.name", r.voice_name);
    add("extract.r.engine", engineName(r.engine));
    add("extract.r.clip", fmt.num(r.duration_s, 2) + " s · " + fmt.num(r.sample_rate) + " Hz");
    if (r.profile && typeof r.profile === "object") {
      for (const [k, v] of Object.entries(r.profile)) dl.append(h("dt", null, k), h("dd", null, typeof v === "number" ? fmt.num(v, 3) : JSON.stringify(v)));
    }
    box.append(
      h("div", null, h("b", null, t("extract.done")), " ", h("span", { class: "mono" }, r.voice_id)),
      dl,
      h("div", { class: "form-row" },
        h("button", { type: "button", class: "btn small primary", onclick: () => { loadVoices().then(() => useVoice({ id: r.voice_id }, "library")); } }, t("extract.use")),
        h("button", { type: "button", class: "btn small", onclick: (ev) => copy(r.voice_id, ev.currentTarget) }, t("extract.copyId"))),
    );
  }

  async function extract(e) {
    e.preventDefault();
    if (!extractClip) return;
    const btn = $("#extract-submit");
    btn.disabled = true;
    btn.classList.add("busy");
    $("#extract-error").hidden = true;
    const fd = new FormData();
    fd.append("audio", extractClip.blob, extractClip.filename);
    const name = $("#extract-name").value.trim();
    if (name) fd.append("voice_name", name);
    const engine = $("#extract-engine").value;
    if (engine) fd.append("engine", engine);
    try {
      const r = await api("/api/extract_voice", { method: "POST", body: fd });
      lastExtract = r;
      renderExtract(r);
      $("#extract-result").hidden = false;
      $("#extract-result").dataset.voiceId = r.voice_id;
      toast(t("extract.done") + " " + r.voice_name, "ok");
      loadVoices();
    } catch (err) {
      showError("extract", err instanceof VC.ApiError ? err : { status: -1, message: String(err.message || err) });
    } finally {
      btn.disabled = !extractClip;
      btn.classList.remove("busy");
    }
  }

  // ---------- live & setup ----------

  live.onOpen(() => { loadEngines(); loadVoices(); });
  live.on("system_status", (d) => {
    if (!d.engines) return;
    const sig = (list) => JSON.stringify(list.map((e) => [e.name, e.nodes_ready, e.nodes, e.languages, (e.voices || []).map((v) => v.id)]));
    if (sig(d.engines) !== sig(engines)) { engines = d.engines; renderEngineSelects(); }
  });
  live.on("voice_created", () => loadVoices());
  live.on("voice_deleted", () => loadVoices());
  live.on("node_online", () => loadVoices());
  live.on("node_removed", () => loadVoices());

  document.addEventListener("vctts:lang", () => {
    if (lastMeta) meta(lastMeta);
    downloadLabel();
    if (lastExtract) renderExtract(lastExtract);
    renderEngineSelects();
    renderVoices();
    $("#rec-btn").textContent = t(recorder ? "extract.rec.stop" : "extract.rec.start");
  });

  document.addEventListener("DOMContentLoaded", () => {
    const text = $("#synth-text");
    text.value = VC.lang === "zh" ? SAMPLES.zh : SAMPLES.en;
    const count = () => { $("#synth-count").textContent = t("synth.count", { n: fmt.num(text.value.length) }); };
    text.addEventListener("input", count);
    document.addEventListener("vctts:lang", count);
    count();
    document.querySelectorAll("[data-sample]").forEach((b) => b.addEventListener("click", () => {
      text.value = SAMPLES[b.dataset.sample];
      count();
      const l = b.dataset.sample;
      if (Array.from($("#synth-language").options).some((o) => o.value === l)) $("#synth-language").value = l;
    }));
    const speed = $("#synth-speed");
    const speedOut = () => { $("#synth-speed-out").textContent = parseFloat(speed.value).toFixed(2) + "×"; };
    speed.addEventListener("input", speedOut);
    speedOut();
    $("#synth-engine").addEventListener("change", () => { renderVoiceSelect(); renderLanguageSelect(); });
    $("#synth-form").addEventListener("submit", synthesize);
    $("#synth-curl").addEventListener("click", (e) => copy(curlFor(JSON.parse($("#synth-result").dataset.lastBody || "{}")), e.currentTarget));
    document.querySelectorAll(".tabs [data-tab]").forEach((b) => b.addEventListener("click", () => setTab(b.dataset.tab)));
    $("#extract-file").addEventListener("change", (e) => chooseFile(e.target.files[0]));
    const drop = $("#drop");
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      const f = e.dataTransfer.files[0];
      if (f) chooseFile(f);
    });
    $("#rec-btn").addEventListener("click", toggleRecord);
    $("#extract-form").addEventListener("submit", extract);
    renderVoices();
  });
})();
