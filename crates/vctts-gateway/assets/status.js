// /status: overview, engines, nodes, announcements, traffic chart, live events.
"use strict";

(function () {
  const { t, h, $, fmt, api, live, syncList, stateBadge, engineName } = VC;

  const nodes = new Map(); // node_id -> { v: NodeView, at: ms when received }
  let status = null;
  let announcements = [];
  const jobs = new Map();
  const feed = [];
  let chart = null;

  // ---------- overview ----------

  function setV(card, name, value) {
    const el = card.querySelector(`[data-v="${name}"]`);
    if (el) el.textContent = value;
  }
  function setMeter(card, frac) {
    const el = card.querySelector('[data-v="meter"]');
    if (el) el.style.width = Math.max(0, Math.min(1, frac || 0)) * 100 + "%";
  }

  function renderKpis() {
    if (!status) return;
    const n = status.nodes, r = status.requests, c = status.concurrency;
    const k1 = $("#kpi-nodes");
    setV(k1, "online", fmt.num(n.online));
    setV(k1, "total", fmt.num(n.total));
    const by = n.by_state || {};
    const parts = [t("kpi.nodes.ready", { n: by.ready || 0 })];
    if (by.busy) parts.push(t("kpi.nodes.busy", { n: by.busy }));
    if (by.standby) parts.push(t("kpi.nodes.standby", { n: by.standby }));
    if (by.error) parts.push(t("kpi.nodes.error", { n: by.error }));
    if (by.offline) parts.push(t("kpi.nodes.offline", { n: by.offline }));
    setV(k1, "sub", n.total ? parts.join(" · ") : t("kpi.nodes.none"));
    setMeter(k1, n.total ? n.ready / n.total : 0);

    const k2 = $("#kpi-requests");
    setV(k2, "total", fmt.num(r.total));
    const last = status.last_second;
    setV(k2, "sub", t("kpi.requests.sub", { ok: fmt.num(r.succeeded), rps: fmt.num(last ? last.rps : 0) }));

    const k3 = $("#kpi-success");
    setV(k3, "rate", r.total ? fmt.pct(r.success_rate, 2) : "—");
    setV(k3, "sub", r.total ? t("kpi.success.sub", { n: fmt.num(r.failed) }) : t("kpi.success.none"));
    setMeter(k3, r.total ? r.success_rate : 0);
    k3.classList.toggle("bad", r.total > 0 && r.success_rate < 0.95);
    k3.classList.toggle("good", !(r.total > 0 && r.success_rate < 0.95));

    const k4 = $("#kpi-concurrency");
    const slots = (status.engines || []).reduce((a, e) => a + (e.capacity || 0), 0);
    setV(k4, "current", fmt.num(c.current));
    setV(k4, "limit", c.limit ? fmt.num(c.limit) : "∞");
    setV(k4, "sub", t("kpi.concurrency.sub", { n: fmt.num(slots) }));
    setMeter(k4, c.limit ? c.current / c.limit : slots ? c.current / slots : 0);

    const foot = $("#foot");
    foot.textContent = "";
    foot.append(
      h("span", null, "vctts " + status.version),
      h("span", null, t("foot.uptime", { d: fmt.secs(status.uptime_s) })),
      h("span", null, t("foot.voices", { n: fmt.num(status.voices) })),
      h("span", null, t("foot.clients", { n: fmt.num(status.websocket_clients) })),
      h("span", null, t("foot.default", { e: status.default_engine })),
    );
  }

  // ---------- engines ----------

  const DESIGN_ENGINES = ["xtts", "openvoice", "gpt-sovits"];

  function renderEngines() {
    if (!status) return;
    const list = status.engines || [];
    const byName = new Map(list.map((e) => [e.name.replace("_", "-"), e]));
    const order = [...DESIGN_ENGINES];
    if (!order.includes(status.default_engine)) order.push(status.default_engine);
    for (const e of list) if (!order.includes(e.name.replace("_", "-"))) order.push(e.name);
    const items = order.map((name) => ({ name, e: byName.get(name) || null }));
    syncList(
      $("#engines"),
      items,
      (x) => x.name,
      () => h("div", { class: "engine" },
        h("span", { class: "light" }),
        h("div", { class: "grow" }, h("div", { class: "name" }), h("div", { class: "meta" }), h("div", { class: "chips" })),
        h("div", { class: "count" }, h("b"), h("div"))),
      (el, { name, e }) => {
        const avail = !e ? "absent" : e.nodes_ready > 0 ? "ready" : e.nodes > 0 ? "degraded" : "none";
        el.dataset.avail = avail;
        el.dataset.engine = name;
        el.querySelector(".name").textContent = engineName(name);
        let meta;
        if (avail === "absent") meta = t("engines.absent");
        else if (avail === "none") meta = t("engines.noNodes");
        else if (avail === "degraded") meta = t("engines.noneReady", { n: e.nodes });
        else meta = t("engines.ready", { slots: e.capacity, busy: e.inflight });
        el.querySelector(".meta").textContent = meta;
        const chips = el.querySelector(".chips");
        chips.textContent = "";
        if (name === status.default_engine) chips.append(h("span", { class: "chip accent" }, t("engines.default")));
        if (e && e.voice_cloning) chips.append(h("span", { class: "chip" }, t("engines.cloning")));
        if (e && e.languages && e.languages.length) {
          const langs = e.languages.slice(0, 6).join(" ") + (e.languages.length > 6 ? " +" + (e.languages.length - 6) : "");
          chips.append(h("span", { class: "chip" }, langs));
        }
        el.querySelector(".count b").textContent = e ? `${e.nodes_ready}/${e.nodes}` : "—";
        el.querySelector(".count div").textContent = t("engines.nodesReady");
      },
    );
  }

  // ---------- nodes ----------

  function setNode(v) {
    nodes.set(v.node_id, { v, at: Date.now() });
  }

  function renderNodes() {
    const tbody = $("#nodes tbody");
    const list = Array.from(nodes.values()).map((x) => x).sort((a, b) =>
      a.v.engine.localeCompare(b.v.engine) || a.v.name.localeCompare(b.v.name) || a.v.node_id.localeCompare(b.v.node_id));
    syncList(tbody, list, (x) => x.v.node_id,
      () => h("tr", null,
        h("td", null, h("b", { class: "n-name" }), h("span", { class: "sub mono n-id" })),
        h("td", { class: "n-engine" }),
        h("td", { class: "n-state" }),
        h("td", { class: "n-cpu" }, h("span", { class: "bar" }, h("span")), h("span", { class: "v" })),
        h("td", { class: "num n-mem" }),
        h("td", { class: "num n-req" }),
        h("td", { class: "num n-inflight" }),
        h("td", { class: "n-model" }, h("span", { class: "v" }), h("span", { class: "sub" })),
        h("td", { class: "num n-hb" })),
      (tr, { v, at }) => {
        if (tr.dataset.state && tr.dataset.state !== v.status) {
          tr.classList.remove("flash");
          void tr.offsetWidth;
          tr.classList.add("flash");
        }
        tr.dataset.nodeId = v.node_id;
        tr.dataset.state = v.status;
        tr.querySelector(".n-name").textContent = v.name || v.node_id;
        tr.querySelector(".n-id").textContent = v.name && v.name !== v.node_id ? v.node_id : v.url;
        tr.querySelector(".n-engine").textContent = engineName(v.engine);
        const st = tr.querySelector(".n-state");
        if (!st.firstChild || st.firstChild.dataset.state !== v.status || st.dataset.lang !== VC.lang) {
          st.textContent = "";
          st.append(stateBadge(v.status));
          st.dataset.lang = VC.lang;
        }
        st.title = v.error || "";
        const cpu = Math.max(0, v.cpu_percent || 0);
        const bar = tr.querySelector(".n-cpu .bar");
        bar.firstChild.style.width = (v.status === "offline" ? 0 : Math.min(100, cpu)) + "%";
        bar.classList.toggle("hot", cpu > 85);
        tr.querySelector(".n-cpu .v").textContent = v.status === "offline" ? "—" : fmt.num(cpu, 0) + "%";
        tr.querySelector(".n-mem").textContent = v.status === "offline" ? "—" : fmt.mb(v.memory_mb);
        const req = tr.querySelector(".n-req");
        req.textContent = fmt.num(v.requests_total);
        req.title = t("nodes.servedTitle", { served: v.served, failures: v.failures });
        tr.querySelector(".n-inflight").textContent = `${v.inflight} / ${v.capacity}`;
        tr.querySelector(".n-model .v").textContent = v.model ? v.model.model : t("nodes.noModel");
        tr.querySelector(".n-model .sub").textContent = v.error ? v.error : v.model ? v.device || "" : "";
        tr.querySelector(".n-hb").dataset.since = String(v.seconds_since_heartbeat + 0);
        tr.querySelector(".n-hb").dataset.at = String(at);
        tr.querySelector(".n-hb").textContent = fmt.ago(v.seconds_since_heartbeat + (Date.now() - at) / 1000);
      },
      t("nodes.empty"));
    const total = nodes.size;
    const online = Array.from(nodes.values()).filter((x) => x.v.status !== "offline").length;
    $("#nodes-hint").textContent = total ? t("nodes.hint", { online, total }) : "";
  }

  function tickHeartbeats() {
    document.querySelectorAll("#nodes .n-hb").forEach((td) => {
      const since = parseFloat(td.dataset.since), at = parseFloat(td.dataset.at);
      if (!Number.isNaN(since)) td.textContent = fmt.ago(since + (Date.now() - at) / 1000);
    });
  }

  let nodesLoading = false;
  let nodesLoadedAt = 0;
  async function loadNodes() {
    if (nodesLoading) return;
    nodesLoading = true;
    try {
      const r = await api("/api/nodes");
      nodes.clear();
      for (const v of r.nodes) setNode(v);
      nodesLoadedAt = Date.now();
      renderNodes();
    } catch (e) {
      /* the connection indicator tells the story */
    } finally {
      nodesLoading = false;
    }
  }

  // ---------- announcements ----------

  function renderAnnouncements() {
    const list = [...announcements].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
    syncList($("#announcements"), list, (a) => a.id,
      () => h("li", { class: "ann" }, h("div", { class: "grow" },
        h("div", null, h("span", { class: "level" }), h("span", { class: "title" })),
        h("div", { class: "content" }),
        h("div", { class: "when" }))),
      (li, a) => {
        li.dataset.level = a.level;
        li.dataset.id = a.id;
        li.querySelector(".level").textContent = t("level." + a.level);
        li.querySelector(".title").textContent = a.title;
        li.querySelector(".content").textContent = a.content;
        li.querySelector(".content").hidden = !a.content;
        li.querySelector(".when").textContent = fmt.dateTime(a.created_at);
      },
      t("ann.empty"));
    $("#ann-count").textContent = list.length ? String(list.length) : "";
  }

  async function loadAnnouncements() {
    try {
      announcements = (await api("/api/announcements")).announcements;
      renderAnnouncements();
    } catch (e) { /* offline */ }
  }

  // ---------- events feed & jobs ----------

  function addFeed(kind, text, ts) {
    feed.unshift({ id: Math.random().toString(36).slice(2), kind, text, ts: ts || new Date().toISOString() });
    feed.length = Math.min(feed.length, 60);
    renderFeed();
  }

  function renderFeed() {
    syncList($("#feed"), feed, (f) => f.id,
      (f) => h("li", null, h("time", null, fmt.time(f.ts)), h("span", { class: "kind " + f.kind }), h("span", { class: "grow" }, f.text)),
      () => {},
      t("feed.empty"));
  }

  function renderJobs() {
    const list = Array.from(jobs.values()).slice(-5).reverse();
    const ul = $("#jobs");
    ul.hidden = !list.length;
    syncList(ul, list, (j) => j.job_id,
      () => h("li", null, h("div", { class: "grow" },
        h("div", null, h("b", { class: "mono j-id" }), " ", h("span", { class: "j-text" })),
        h("div", { class: "progress" }, h("span")))),
      (li, j) => {
        li.querySelector(".j-id").textContent = j.job_id;
        li.querySelector(".j-text").textContent = t("jobs.progress", { done: j.done, total: j.total, failed: j.failed, status: t("jobs." + j.status) });
        const bar = li.querySelector(".progress span");
        bar.style.width = (j.total ? ((j.done + j.failed) / j.total) * 100 : 0) + "%";
        bar.classList.toggle("fail", j.failed > 0 && j.done === 0);
      });
  }

  // ---------- loading & live updates ----------

  async function loadStatus() {
    try {
      status = await api("/api/status");
      chart.setSamples(status.history || []);
      renderKpis();
      renderEngines();
    } catch (e) { /* offline */ }
  }

  function nodeLabel(v) { return v.name || v.node_id; }

  live.onOpen((again) => {
    addFeed("ok", t(again ? "feed.reconnected" : "feed.connected"));
    loadStatus();
    loadNodes();
    loadAnnouncements();
  });
  document.addEventListener("vctts:conn", (e) => {
    if (e.detail === "offline" && live.connects > 0 && !(feed[0] && feed[0].text === t("feed.lost"))) addFeed("bad", t("feed.lost"));
  });

  live.on("system_status", (d) => {
    status = Object.assign(status || {}, d);
    chart.addSamples(d.recent || (d.last_second ? [d.last_second] : []));
    renderKpis();
    renderEngines();
    // Node load (CPU, memory, heartbeats) changes without a state event: refresh it with the status tick.
    if (!document.hidden && Date.now() - nodesLoadedAt > 1500) loadNodes();
  });
  live.on("node_online", (v, m) => {
    setNode(v);
    renderNodes();
    addFeed("ok", t("feed.online", { n: nodeLabel(v), e: engineName(v.engine) }), m.ts);
  });
  live.on("node_offline", (v, m) => {
    setNode(v);
    renderNodes();
    addFeed("bad", t("feed.offline", { n: nodeLabel(v) }), m.ts);
  });
  live.on("node_status_changed", (d, m) => {
    setNode(d.node);
    renderNodes();
    const quiet = (d.old_status === "ready" && d.new_status === "busy") || (d.old_status === "busy" && d.new_status === "ready");
    if (!quiet) {
      addFeed(d.new_status === "error" ? "bad" : d.new_status === "ready" ? "ok" : "warn",
        t("feed.changed", { n: nodeLabel(d.node), from: t("state." + d.old_status), to: t("state." + d.new_status) }), m.ts);
    }
  });
  live.on("node_removed", (v, m) => {
    nodes.delete(v.node_id);
    renderNodes();
    addFeed("muted", t("feed.removed", { n: nodeLabel(v) }), m.ts);
  });
  live.on("announcement", (a, m) => {
    announcements = announcements.filter((x) => x.id !== a.id).concat([a]);
    renderAnnouncements();
    addFeed("warn", t("feed.announcement", { title: a.title }), m.ts);
  });
  live.on("announcement_deleted", (d) => {
    announcements = announcements.filter((x) => x.id !== d.id);
    renderAnnouncements();
  });
  live.on("limits_changed", (l, m) => {
    if (status) { status.concurrency.limit = l.concurrent_limit; renderKpis(); }
    addFeed("warn", t("feed.limits", { g: l.global_rpm || "∞", ip: l.ip_rpm || "∞", c: l.concurrent_limit || "∞" }), m.ts);
  });
  live.on("voice_created", (v, m) => addFeed("ok", t("feed.voiceCreated", { n: v.name, e: engineName(v.engine) }), m.ts));
  live.on("voice_deleted", (v, m) => addFeed("muted", t("feed.voiceDeleted", { id: v.voice_id }), m.ts));
  live.on("job_progress", (j, m) => {
    jobs.delete(j.job_id);
    jobs.set(j.job_id, j);
    renderJobs();
    if (j.status !== "running" && j.status !== "queued") {
      addFeed(j.failed ? "warn" : "ok", t("feed.job", { id: j.job_id, done: j.done, total: j.total, status: t("jobs." + j.status) }), m.ts);
    }
  });

  document.addEventListener("vctts:lang", () => {
    renderKpis();
    renderEngines();
    document.querySelectorAll("#nodes .n-state").forEach((td) => { td.dataset.lang = ""; });
    renderNodes();
    renderAnnouncements();
    renderFeed();
    renderJobs();
    chart.render();
  });

  document.addEventListener("DOMContentLoaded", () => {
    const canvas = $("#chart");
    canvas.dataset.empty = "chart-empty";
    chart = createChart(canvas, { windowS: 300 });
    renderNodes();
    renderAnnouncements();
    renderFeed();
    setInterval(tickHeartbeats, 1000);
  });
})();
