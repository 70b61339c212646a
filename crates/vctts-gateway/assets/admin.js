// /admin: node control, model load/unload, announcements, limits, voice library.
"use strict";

(function () {
  const { t, h, $, fmt, api, live, syncList, stateBadge, engineName, token, toast } = VC;

  const nodes = new Map();
  let announcements = [];
  let voices = [];
  let limits = null; // as last loaded from the gateway
  let limitsDirty = false;
  const log = [];

  // ---------- auth ----------

  function renderToken() {
    const st = $("#token-state");
    const has = !!token.get();
    st.textContent = has ? t("token.set") : t("token.none");
    st.classList.toggle("set", has);
    $("#token-forget").disabled = !has;
  }

  function showAuth(err) {
    const box = $("#auth-alert");
    if (err.status === 401) {
      $("#auth-alert-title").textContent = token.get() ? t("auth.401.wrong") : t("auth.401.missing");
      $("#auth-alert-text").textContent = t("auth.401.text");
    } else {
      $("#auth-alert-title").textContent = t("auth.403");
      $("#auth-alert-text").textContent = t("auth.403.text");
    }
    box.dataset.status = String(err.status);
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  /** An admin API call: token attached; 401/403 explained at the top of the page. */
  async function adminCall(path, opts, what) {
    try {
      const r = await api(path, Object.assign({ admin: true }, opts));
      $("#auth-alert").hidden = true;
      return r;
    } catch (e) {
      if (e.status === 401 || e.status === 403) showAuth(e);
      else toast((what ? what + ": " : "") + e.message, "error");
      addLog("bad", (what ? what + " — " : "") + (e.status ? e.status + " " : "") + e.message);
      throw e;
    }
  }

  // ---------- log ----------

  function addLog(kind, text) {
    log.unshift({ id: Math.random().toString(36).slice(2), kind, text, ts: new Date().toISOString() });
    log.length = Math.min(log.length, 50);
    renderLog();
  }

  function renderLog() {
    syncList($("#log"), log, (x) => x.id,
      (x) => h("li", null, h("time", null, fmt.time(x.ts)), h("span", { class: "kind " + x.kind }), h("span", { class: "grow" }, x.text)),
      () => {}, t("log.empty"));
  }

  // ---------- nodes ----------

  const ACTIONS = [
    ["activate", "standby"],
    ["load_model", "unload_model"],
    ["remove"],
  ];

  function enabled(cmd, v) {
    const s = v.status;
    const loaded = !!v.model && (s === "ready" || s === "busy");
    if (s === "offline") return cmd === "remove";
    switch (cmd) {
      case "activate": return !(s === "ready" || s === "busy" || s === "loading");
      case "standby": return s !== "standby";
      case "load_model": return !loaded && s !== "loading";
      case "unload_model": return !!v.model || s === "error";
      default: return true;
    }
  }

  function renderNodes() {
    const list = Array.from(nodes.values()).sort((a, b) =>
      a.engine.localeCompare(b.engine) || a.name.localeCompare(b.name) || a.node_id.localeCompare(b.node_id));
    syncList($("#admin-nodes tbody"), list, (v) => v.node_id,
      (v) => h("tr", null,
        h("td", null, h("b", { class: "n-name" }), h("span", { class: "sub mono n-id" })),
        h("td", { class: "n-engine" }),
        h("td", { class: "n-state" }),
        h("td", { class: "n-model" }, h("span", { class: "v" }), h("span", { class: "sub" })),
        h("td", { class: "num n-inflight" }),
        h("td", { class: "n-actions" }, ACTIONS.map((group) => h("span", { class: "btn-group" }, group.map((cmd) =>
          h("button", { type: "button", class: "btn small" + (cmd === "remove" ? " danger" : ""), "data-cmd": cmd, onclick: () => command(v.node_id, cmd) })))))),
      (tr, v) => {
        tr.dataset.nodeId = v.node_id;
        tr.dataset.state = v.status;
        tr.querySelector(".n-name").textContent = v.name || v.node_id;
        tr.querySelector(".n-id").textContent = v.name && v.name !== v.node_id ? v.node_id : v.url;
        tr.querySelector(".n-engine").textContent = engineName(v.engine);
        const st = tr.querySelector(".n-state");
        st.textContent = "";
        st.append(stateBadge(v.status));
        st.title = v.error || "";
        tr.querySelector(".n-model .v").textContent = v.model ? v.model.model : t("nodes.noModel");
        tr.querySelector(".n-model .sub").textContent = v.error || "";
        tr.querySelector(".n-inflight").textContent = `${v.inflight} / ${v.capacity}`;
        const pending = tr.dataset.pending;
        tr.querySelectorAll("button[data-cmd]").forEach((b) => {
          const cmd = b.dataset.cmd;
          b.textContent = t("cmd." + cmd);
          b.title = t("cmd." + cmd + ".title");
          b.disabled = !!pending || !enabled(cmd, v);
          b.classList.toggle("busy", pending === cmd);
        });
      },
      t("nodes.empty"));
  }

  async function command(id, cmd) {
    const v = nodes.get(id);
    if (!v) return;
    const label = v.name || id;
    if (cmd === "remove" && !window.confirm(t("cmd.remove.confirm", { n: label }))) return;
    const tr = document.querySelector(`#admin-nodes tr[data-node-id="${CSS.escape(id)}"]`);
    if (tr) tr.dataset.pending = cmd;
    renderNodes();
    try {
      const r = await adminCall(`/api/nodes/${encodeURIComponent(id)}/command`, { method: "POST", json: { command: cmd } }, t("cmd." + cmd) + " · " + label);
      addLog("ok", t("log.command", { cmd: t("cmd." + cmd), n: label, s: t("state." + r.status) }) + (r.message ? " — " + r.message : ""));
      if (cmd === "remove") nodes.delete(id);
      else if (nodes.has(id)) nodes.get(id).status = r.status;
    } catch (e) {
      /* reported by adminCall */
    } finally {
      if (tr) delete tr.dataset.pending;
      renderNodes();
      loadNodes();
    }
  }

  let nodesLoading = false, nodesAt = 0;
  async function loadNodes() {
    if (nodesLoading) return;
    nodesLoading = true;
    try {
      const r = await api("/api/nodes");
      nodes.clear();
      for (const v of r.nodes) nodes.set(v.node_id, v);
      nodesAt = Date.now();
      renderNodes();
    } catch (e) { /* offline */ } finally { nodesLoading = false; }
  }

  // ---------- announcements ----------

  function renderAnnouncements() {
    const list = [...announcements].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
    syncList($("#ann-list"), list, (a) => a.id,
      (a) => h("li", { class: "ann" },
        h("div", { class: "grow" }, h("div", null, h("span", { class: "level" }), h("span", { class: "title" })), h("div", { class: "content" }), h("div", { class: "when" })),
        h("div", null, h("button", { type: "button", class: "btn small danger", onclick: (e) => deleteAnnouncement(a, e.currentTarget) }))),
      (li, a) => {
        li.dataset.level = a.level;
        li.dataset.id = a.id;
        li.querySelector(".level").textContent = t("level." + a.level);
        li.querySelector(".title").textContent = a.title;
        li.querySelector(".content").textContent = a.content;
        li.querySelector(".content").hidden = !a.content;
        li.querySelector(".when").textContent = fmt.dateTime(a.created_at);
        li.querySelector("button").textContent = t("common.delete");
      },
      t("ann.empty"));
  }

  async function deleteAnnouncement(a, btn) {
    btn.disabled = true;
    try {
      await adminCall(`/api/announcements/${encodeURIComponent(a.id)}`, { method: "DELETE" }, t("ann.delete"));
      announcements = announcements.filter((x) => x.id !== a.id);
      renderAnnouncements();
      addLog("ok", t("log.annDeleted", { title: a.title }));
    } catch (e) { btn.disabled = false; }
  }

  async function publish(e) {
    e.preventDefault();
    const f = e.target;
    const body = { title: f.title.value.trim(), content: f.content.value, level: f.level.value };
    if (!body.title) return;
    const btn = f.querySelector("button[type=submit]");
    btn.disabled = true;
    btn.classList.add("busy");
    try {
      const a = await adminCall("/api/announcements", { method: "POST", json: body }, t("ann.publish"));
      announcements = announcements.filter((x) => x.id !== a.id).concat([a]);
      renderAnnouncements();
      f.reset();
      addLog("ok", t("log.annPublished", { title: a.title }));
    } catch (err) { /* reported */ } finally {
      btn.disabled = false;
      btn.classList.remove("busy");
    }
  }

  async function loadAnnouncements() {
    try { announcements = (await api("/api/announcements")).announcements; renderAnnouncements(); } catch (e) { /* offline */ }
  }

  // ---------- limits ----------

  function endpointRow(path, rpm) {
    return h("tr", null,
      h("td", null, h("input", { type: "text", class: "mono", name: "ep-path", value: path, placeholder: "/api/synthesize" })),
      h("td", { class: "num" }, h("input", { type: "number", min: 0, step: 1, name: "ep-rpm", value: rpm })),
      h("td", { class: "num" }, h("button", { type: "button", class: "icon-btn", title: t("common.delete"), onclick: (e) => { e.currentTarget.closest("tr").remove(); markDirty(); } }, "✕")));
  }

  function fillLimits(l) {
    const f = $("#limits-form");
    f.global_rpm.value = l.global_rpm;
    f.ip_rpm.value = l.ip_rpm;
    f.concurrent_limit.value = l.concurrent_limit;
    const tb = $("#limits-endpoints tbody");
    tb.textContent = "";
    for (const [p, r] of Object.entries(l.endpoints || {})) tb.append(endpointRow(p, r));
    limitsDirty = false;
    $("#limits-dirty").textContent = "";
    if (l.current_concurrency !== undefined) $("#limits-current").textContent = fmt.num(l.current_concurrency);
  }

  function markDirty() {
    limitsDirty = true;
    $("#limits-dirty").textContent = t("limits.unsaved");
  }

  async function loadLimits() {
    try { limits = await api("/api/limits"); fillLimits(limits); } catch (e) { /* offline */ }
  }

  async function saveLimits(e) {
    e.preventDefault();
    const f = e.target;
    const num = (v, name) => {
      const n = Number(v);
      if (v === "" || !Number.isInteger(n) || n < 0) throw new Error(t("limits.bad", { name }));
      return n;
    };
    let body;
    try {
      body = { global_rpm: num(f.global_rpm.value, t("limits.global")), ip_rpm: num(f.ip_rpm.value, t("limits.ip")), concurrent_limit: num(f.concurrent_limit.value, t("limits.concurrent")), endpoints: {} };
      for (const tr of $("#limits-endpoints tbody").children) {
        const p = tr.querySelector('[name="ep-path"]').value.trim();
        if (!p) continue;
        if (!p.startsWith("/")) throw new Error(t("limits.badPath", { p }));
        body.endpoints[p] = num(tr.querySelector('[name="ep-rpm"]').value, p);
      }
      // An endpoint removed from the list: 0 removes its limit.
      for (const p of Object.keys((limits && limits.endpoints) || {})) if (!(p in body.endpoints)) body.endpoints[p] = 0;
    } catch (err) {
      toast(err.message, "error");
      return;
    }
    const btn = f.querySelector("button[type=submit]");
    btn.disabled = true;
    try {
      const cfg = await adminCall("/api/limits", { method: "PATCH", json: body }, t("limits.save"));
      limits = Object.assign({}, limits, cfg);
      fillLimits(limits);
      addLog("ok", t("log.limits", { g: cfg.global_rpm || "∞", ip: cfg.ip_rpm || "∞", c: cfg.concurrent_limit || "∞" }));
      toast(t("limits.saved"), "ok");
    } catch (err) { /* reported */ } finally { btn.disabled = false; }
  }

  // ---------- voices ----------

  function renderVoices() {
    syncList($("#admin-voices tbody"), voices, (v) => v.id,
      (v) => h("tr", null,
        h("td", null, h("b", { class: "v-name" }), h("span", { class: "sub mono v-id" })),
        h("td", { class: "v-engine" }), h("td", { class: "num v-dur" }), h("td", { class: "v-created" }),
        h("td", { class: "num" }, h("button", { type: "button", class: "btn small danger", onclick: (e) => deleteVoice(v, e.currentTarget) }))),
      (tr, v) => {
        tr.dataset.voiceId = v.id;
        tr.querySelector(".v-name").textContent = v.name;
        tr.querySelector(".v-id").textContent = v.id;
        tr.querySelector(".v-engine").textContent = engineName(v.engine);
        tr.querySelector(".v-dur").textContent = fmt.num(v.duration_s, 1) + " s";
        tr.querySelector(".v-created").textContent = fmt.dateTime(v.created_at);
        tr.querySelector("button").textContent = t("common.delete");
      },
      t("voices.empty"));
    $("#voices-hint").textContent = voices.length ? String(voices.length) : "";
  }

  async function loadVoices() {
    try { voices = (await api("/api/voices?limit=1000")).voices; renderVoices(); } catch (e) { /* offline */ }
  }

  async function deleteVoice(v, btn) {
    if (!window.confirm(t("voices.confirmDelete", { n: v.name }))) return;
    btn.disabled = true;
    try {
      await adminCall(`/api/voices/${encodeURIComponent(v.id)}`, { method: "DELETE" }, t("voices.delete"));
      voices = voices.filter((x) => x.id !== v.id);
      renderVoices();
      addLog("ok", t("log.voiceDeleted", { n: v.name }));
    } catch (e) { btn.disabled = false; }
  }

  // ---------- live ----------

  live.onOpen(() => { loadNodes(); loadAnnouncements(); loadLimits(); loadVoices(); });
  live.on("system_status", (d) => {
    $("#limits-current").textContent = fmt.num(d.concurrency.current);
    if (!document.hidden && Date.now() - nodesAt > 1500) loadNodes();
  });
  const upsert = (v) => { nodes.set(v.node_id, v); renderNodes(); };
  live.on("node_online", upsert);
  live.on("node_offline", upsert);
  live.on("node_status_changed", (d) => upsert(d.node));
  live.on("node_removed", (v) => { nodes.delete(v.node_id); renderNodes(); });
  live.on("announcement", (a) => { announcements = announcements.filter((x) => x.id !== a.id).concat([a]); renderAnnouncements(); });
  live.on("announcement_deleted", (d) => { announcements = announcements.filter((x) => x.id !== d.id); renderAnnouncements(); });
  live.on("limits_changed", (l) => {
    limits = Object.assign({}, limits, l);
    if (!limitsDirty) fillLimits(limits);
    else $("#limits-dirty").textContent = t("limits.changedElsewhere");
  });
  live.on("voice_created", () => loadVoices());
  live.on("voice_deleted", (d) => { voices = voices.filter((x) => x.id !== d.voice_id); renderVoices(); });

  document.addEventListener("vctts:lang", () => { renderToken(); renderNodes(); renderAnnouncements(); renderVoices(); renderLog(); });

  document.addEventListener("DOMContentLoaded", () => {
    renderToken();
    renderNodes();
    renderAnnouncements();
    renderVoices();
    renderLog();
    $("#token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const v = $("#token-input").value.trim();
      if (!v) return;
      token.set(v);
      $("#token-input").value = "";
      $("#auth-alert").hidden = true;
      renderToken();
      addLog("ok", t("log.tokenSet"));
    });
    $("#token-forget").addEventListener("click", () => { token.set(""); renderToken(); addLog("muted", t("log.tokenForgotten")); });
    $("#auth-alert-close").addEventListener("click", () => { $("#auth-alert").hidden = true; });
    $("#ann-form").addEventListener("submit", publish);
    const lf = $("#limits-form");
    lf.addEventListener("submit", saveLimits);
    lf.addEventListener("input", markDirty);
    $("#limits-add").addEventListener("click", () => { $("#limits-endpoints tbody").append(endpointRow("", 60)); markDirty(); });
    $("#limits-reset").addEventListener("click", () => { if (limits) fillLimits(limits); });
  });
})();
