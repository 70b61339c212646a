// vctts pages: shared code (i18n, the live WebSocket feed, API calls, small DOM helpers).
// No framework and no build step: this file is served as is from the binary.
"use strict";

// Script errors are kept for anyone who asks (the browser tests check that there are none).
window.VC_ERRORS = [];
window.addEventListener("error", (e) => window.VC_ERRORS.push(String(e.message || e)));
window.addEventListener("unhandledrejection", (e) => window.VC_ERRORS.push("unhandled rejection: " + String(e.reason && (e.reason.message || e.reason))));

(function () {
  const STRINGS = window.VCTTS_STRINGS || { zh: {}, en: {} };

  // ---------- language ----------

  function pickLang() {
    const saved = localStorage.getItem("vctts.lang");
    if (saved === "zh" || saved === "en") return saved;
    const prefs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
    return String(prefs[0] || "").toLowerCase().startsWith("zh") ? "zh" : "en";
  }

  let lang = pickLang();

  function t(key, vars) {
    let s = (STRINGS[lang] && STRINGS[lang][key]) ?? STRINGS.en[key] ?? key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
    return s;
  }

  function applyI18n(root) {
    root = root || document;
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    root.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
    const title = document.body && document.body.dataset.title;
    if (title) document.title = t(title) + " · vctts";
    const btn = document.getElementById("lang");
    if (btn) {
      btn.textContent = lang === "zh" ? "English" : "中文";
      btn.title = lang === "zh" ? "Switch to English" : "切换到中文";
    }
  }

  function setLang(l) {
    lang = l;
    localStorage.setItem("vctts.lang", l);
    applyI18n();
    document.dispatchEvent(new CustomEvent("vctts:lang", { detail: l }));
  }

  // ---------- DOM helpers ----------

  /** h("td", {class: "num"}, "text", childNode) — text is always set as text, never parsed as HTML. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "class") el.className = v;
        else if (k === "text") el.textContent = v;
        else if (k === "dataset") Object.assign(el.dataset, v);
        else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
        else if (v === true) el.setAttribute(k, "");
        else el.setAttribute(k, String(v));
      }
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  const $ = (sel, root) => (root || document).querySelector(sel);

  /**
   * Keyed list rendering: one element per item, created once and updated in place,
   * so rows keep their identity (and their buttons their focus) across updates.
   */
  function syncList(container, items, key, create, update, emptyText) {
    const existing = new Map();
    for (const el of Array.from(container.children)) {
      if (el.dataset && el.dataset.key !== undefined) existing.set(el.dataset.key, el);
      else el.remove();
    }
    let prev = null;
    for (const item of items) {
      const k = String(key(item));
      let el = existing.get(k);
      if (el) existing.delete(k);
      else {
        el = create(item);
        el.dataset.key = k;
      }
      update(el, item);
      const want = prev ? prev.nextSibling : container.firstChild;
      if (want !== el) container.insertBefore(el, want);
      prev = el;
    }
    for (const el of existing.values()) el.remove();
    if (!items.length && emptyText) {
      const cols = container.closest("table") ? container.closest("table").querySelectorAll("thead th").length : 0;
      const empty = cols
        ? h("tr", { class: "empty-row" }, h("td", { class: "empty", colspan: cols }, emptyText))
        : h("li", { class: "empty" }, emptyText);
      container.append(empty);
    }
  }

  // ---------- formatting ----------

  const locale = () => (lang === "zh" ? "zh-CN" : "en-US");
  const fmt = {
    num(n, digits) {
      if (n === null || n === undefined || Number.isNaN(n)) return "—";
      return Number(n).toLocaleString(locale(), { maximumFractionDigits: digits ?? 0 });
    },
    pct(x, digits) {
      if (x === null || x === undefined) return "—";
      return (x * 100).toLocaleString(locale(), { maximumFractionDigits: digits ?? 1 }) + "%";
    },
    mb(mb) {
      if (mb === null || mb === undefined) return "—";
      if (mb >= 1024) return fmt.num(mb / 1024, 2) + " GB";
      return fmt.num(mb, mb < 10 ? 1 : 0) + " MB";
    },
    bytes(b) {
      if (b >= 1048576) return fmt.num(b / 1048576, 1) + " MB";
      if (b >= 1024) return fmt.num(b / 1024, 0) + " KB";
      return fmt.num(b) + " B";
    },
    secs(s) {
      if (s === null || s === undefined) return "—";
      if (s < 60) return t("unit.s", { n: fmt.num(s, s < 10 ? 1 : 0) });
      if (s < 3600) return t("unit.min", { n: fmt.num(s / 60, 0) });
      if (s < 86400) return t("unit.h", { n: fmt.num(s / 3600, 1) });
      return t("unit.d", { n: fmt.num(s / 86400, 1) });
    },
    ago(s) {
      if (s === null || s === undefined || Number.isNaN(s)) return "—";
      if (s < 1.5) return t("time.now");
      return t("time.ago", { d: fmt.secs(Math.floor(s)) });
    },
    time(iso) {
      const d = iso instanceof Date ? iso : new Date(iso);
      if (Number.isNaN(d.getTime())) return "—";
      return d.toLocaleTimeString(locale(), { hour12: false });
    },
    dateTime(iso) {
      const d = new Date(iso);
      if (Number.isNaN(d.getTime())) return "—";
      const today = new Date().toDateString() === d.toDateString();
      return today
        ? d.toLocaleTimeString(locale(), { hour12: false, hour: "2-digit", minute: "2-digit" })
        : d.toLocaleString(locale(), { hour12: false, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    },
    ms(ms) {
      if (ms === null || ms === undefined) return "—";
      return ms >= 1000 ? fmt.num(ms / 1000, 2) + " s" : fmt.num(ms, 0) + " ms";
    },
  };

  const ENGINE_NAMES = { xtts: "XTTS v2", openvoice: "OpenVoice", "gpt-sovits": "GPT-SoVITS", gpt_sovits: "GPT-SoVITS", piper: "Piper", tone: "Tone (test)" };
  const engineName = (e) => ENGINE_NAMES[e] || e;

  function stateBadge(state) {
    return h("span", { class: "badge " + state, "data-state": state }, t("state." + state));
  }

  // ---------- toasts & clipboard ----------

  function toast(msg, kind) {
    let box = $(".toasts");
    if (!box) { box = h("div", { class: "toasts", "aria-live": "polite" }); document.body.append(box); }
    const el = h("div", { class: "toast " + (kind || "") }, msg);
    box.append(el);
    setTimeout(() => el.remove(), kind === "error" ? 7000 : 3500);
  }

  async function copy(text, btn) {
    try {
      if (navigator.clipboard && window.isSecureContext) await navigator.clipboard.writeText(text);
      else {
        const ta = h("textarea", { class: "offscreen" });
        ta.value = text;
        document.body.append(ta);
        ta.select();
        document.execCommand("copy");
        ta.remove();
      }
      if (btn) {
        const old = btn.textContent;
        btn.textContent = t("common.copied");
        setTimeout(() => { btn.textContent = old; }, 1200);
      }
    } catch (e) {
      toast(t("common.copyFailed"), "error");
    }
  }

  // ---------- API ----------

  const TOKEN_KEY = "vctts.adminToken";
  const token = {
    get: () => sessionStorage.getItem(TOKEN_KEY) || "",
    set: (v) => (v ? sessionStorage.setItem(TOKEN_KEY, v) : sessionStorage.removeItem(TOKEN_KEY)),
  };

  class ApiError extends Error {
    constructor(status, type, message, retryAfter) {
      super(message);
      this.status = status;
      this.type = type;
      this.retryAfter = retryAfter;
    }
  }

  /** fetch + JSON; throws ApiError with the gateway's `{"error", "error_type"}` on failure. */
  async function api(path, opts) {
    opts = opts || {};
    const headers = Object.assign({}, opts.headers);
    let body = opts.body;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.json);
    }
    if (opts.admin && token.get()) headers["Authorization"] = "Bearer " + token.get();
    let resp;
    try {
      resp = await fetch(path, { method: opts.method || (body ? "POST" : "GET"), headers, body, cache: "no-store" });
    } catch (e) {
      throw new ApiError(0, "network", t("err.network"));
    }
    if (opts.raw && resp.ok) return resp;
    const ct = resp.headers.get("content-type") || "";
    const data = ct.includes("json") ? await resp.json().catch(() => null) : null;
    if (!resp.ok) {
      const msg = (data && data.error) || resp.statusText || "HTTP " + resp.status;
      throw new ApiError(resp.status, (data && data.error_type) || "http_" + resp.status, msg, resp.headers.get("retry-after"));
    }
    return data;
  }

  // ---------- live feed (/ws) ----------

  const RECONNECT_MS = 3000;
  // system_status arrives every 2 s; silence this long means the link is dead.
  const SILENCE_MS = 7000;
  const live = {
    state: "connecting",
    handlers: {},
    openHandlers: [],
    on(type, fn) { (this.handlers[type] = this.handlers[type] || []).push(fn); },
    onOpen(fn) { this.openHandlers.push(fn); },
    connects: 0,
  };
  let ws = null;
  let silence = null;
  let retry = null;

  function setConn(state) {
    live.state = state;
    const el = document.getElementById("conn");
    if (!el) return;
    el.dataset.state = state;
    const label = el.querySelector(".label");
    if (label) label.textContent = t("conn." + state);
    el.title = t("conn." + state + ".title");
    document.body.dataset.conn = state;
    let banner = document.getElementById("offline-banner");
    if (state === "offline") {
      if (!banner) {
        banner = h("div", { id: "offline-banner", class: "offline-banner", role: "alert" });
        document.querySelector(".topbar").after(banner);
      }
      if (!banner.dataset.since) banner.dataset.since = new Date().toISOString();
      banner.textContent = t("conn.banner", { t: fmt.time(banner.dataset.since) });
      banner.hidden = false;
    } else if (banner && state === "online") {
      banner.hidden = true;
      delete banner.dataset.since;
    }
    document.dispatchEvent(new CustomEvent("vctts:conn", { detail: state }));
  }

  function armSilence() {
    clearTimeout(silence);
    silence = setTimeout(() => { if (ws) ws.close(); }, SILENCE_MS);
  }

  function connect() {
    clearTimeout(retry);
    if (live.state !== "offline") setConn("connecting");
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    let sock;
    try { sock = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    ws = sock;
    sock.onopen = () => {
      live.connects++;
      setConn("online");
      armSilence();
      for (const fn of live.openHandlers) { try { fn(live.connects > 1); } catch (e) { console.error(e); } }
    };
    sock.onmessage = (ev) => {
      armSilence();
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      for (const fn of live.handlers[msg.type] || []) { try { fn(msg.data, msg); } catch (e) { console.error(e); } }
      for (const fn of live.handlers["*"] || []) { try { fn(msg.data, msg); } catch (e) { console.error(e); } }
    };
    sock.onclose = () => {
      if (ws !== sock) return;
      ws = null;
      clearTimeout(silence);
      setConn("offline");
      scheduleReconnect();
    };
    sock.onerror = () => { /* onclose follows */ };
  }

  function scheduleReconnect() {
    clearTimeout(retry);
    retry = setTimeout(connect, RECONNECT_MS);
  }

  // ---------- start ----------

  function start() {
    applyI18n();
    const btn = document.getElementById("lang");
    if (btn) btn.addEventListener("click", () => setLang(lang === "zh" ? "en" : "zh"));
    setConn("connecting");
    connect();
  }

  window.VC = { t, h, $, syncList, fmt, api, ApiError, token, live, toast, copy, applyI18n, setLang, engineName, stateBadge,
    get lang() { return lang; } };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
