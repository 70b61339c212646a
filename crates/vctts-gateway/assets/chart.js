// A small canvas chart: requests per second (bars, errors in red) and mean
// latency (line, right axis) over a sliding window of one-second samples.
"use strict";

(function () {
  /** The top of an axis with four gridlines at round values (1, 2, 2.5 or 5 times a power of ten). */
  function niceMax(v) {
    if (!(v > 0)) return 4;
    const step = v / 4;
    const p = Math.pow(10, Math.floor(Math.log10(step)));
    for (const m of [1, 2, 2.5, 5, 10]) if (step <= m * p + 1e-9) return 4 * m * p;
    return 40 * p;
  }

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
  }

  window.createChart = function (canvas, opts) {
    const windowS = (opts && opts.windowS) || 300;
    const wrap = canvas.parentElement;
    const tip = document.createElement("div");
    tip.className = "tooltip";
    tip.hidden = true;
    wrap.append(tip);
    let samples = new Map(); // t (unix s) -> sample
    let hover = null;
    let geom = null;
    // The server's clock: the newest sample and when it arrived here.
    let anchor = null;

    function setSamples(list) {
      samples = new Map();
      addSamples(list);
    }

    function addSamples(list) {
      for (const s of list || []) if (s && typeof s.t === "number") samples.set(s.t, s);
      // Keep only the window (and a little slack).
      const newest = Math.max(0, ...samples.keys());
      if (!anchor || newest > anchor.t) anchor = { t: newest, at: Date.now() };
      for (const t of samples.keys()) if (t < newest - windowS - 5) samples.delete(t);
      render();
    }

    function series() {
      const end = anchor ? anchor.t + Math.floor((Date.now() - anchor.at) / 1000) : Math.floor(Date.now() / 1000);
      const start = end - windowS + 1;
      const out = [];
      for (let t = start; t <= end; t++) out.push(samples.get(t) || { t, rps: 0, errors: 0, latency_ms: null, missing: true });
      return out;
    }

    function render() {
      const dpr = window.devicePixelRatio || 1;
      const w = canvas.clientWidth;
      const hgt = canvas.clientHeight;
      if (!w || !hgt) return;
      if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
        canvas.width = Math.round(w * dpr);
        canvas.height = Math.round(hgt * dpr);
      }
      const ctx = canvas.getContext("2d");
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, w, hgt);
      const data = series();
      const padL = 40, padR = 52, padT = 10, padB = 24;
      const pw = w - padL - padR, ph = hgt - padT - padB;
      const maxRps = niceMax(Math.max(4, ...data.map((s) => s.rps)));
      const lats = data.map((s) => s.latency_ms).filter((x) => x !== null && x !== undefined);
      const maxLat = niceMax(Math.max(40, ...lats));
      const colText = css("--muted"), colGrid = css("--border"), colAcc = css("--accent"), colWarn = css("--warn"), colErr = css("--err");
      ctx.font = "11px system-ui, sans-serif";
      ctx.lineWidth = 1;
      // Grid and axis labels.
      ctx.textBaseline = "middle";
      for (let i = 0; i <= 4; i++) {
        const y = padT + ph - (ph * i) / 4 + 0.5;
        ctx.strokeStyle = colGrid;
        ctx.beginPath();
        ctx.moveTo(padL, y);
        ctx.lineTo(padL + pw, y);
        ctx.stroke();
        ctx.fillStyle = colText;
        ctx.textAlign = "right";
        ctx.fillText(VC.fmt.num((maxRps * i) / 4, 1), padL - 6, y);
        ctx.textAlign = "left";
        ctx.fillText(VC.fmt.ms((maxLat * i) / 4), padL + pw + 6, y);
      }
      // Time labels every minute.
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      const step = pw / data.length;
      data.forEach((s, i) => {
        if (s.t % 60 === 0) {
          const x = padL + i * step;
          ctx.fillStyle = colText;
          ctx.fillText(new Date(s.t * 1000).toLocaleTimeString(VC.lang === "zh" ? "zh-CN" : "en-US", { hour12: false, hour: "2-digit", minute: "2-digit" }), x, padT + ph + 6);
          ctx.strokeStyle = colGrid;
          ctx.setLineDash([2, 3]);
          ctx.beginPath();
          ctx.moveTo(Math.round(x) + 0.5, padT);
          ctx.lineTo(Math.round(x) + 0.5, padT + ph);
          ctx.stroke();
          ctx.setLineDash([]);
        }
      });
      // Bars.
      const bw = Math.max(1, step - (step > 3 ? 1 : 0));
      data.forEach((s, i) => {
        if (!s.rps) return;
        const x = padL + i * step;
        const bh = (s.rps / maxRps) * ph;
        ctx.globalAlpha = 0.55;
        ctx.fillStyle = colAcc;
        ctx.fillRect(x, padT + ph - bh, bw, bh);
        ctx.globalAlpha = 1;
        if (s.errors) {
          const eh = (Math.min(s.errors, s.rps) / maxRps) * ph;
          ctx.fillStyle = colErr;
          ctx.fillRect(x, padT + ph - eh, bw, eh);
        }
      });
      // Latency line (dots where a second stands alone).
      ctx.strokeStyle = colWarn;
      ctx.fillStyle = colWarn;
      ctx.lineWidth = 1.75;
      ctx.lineJoin = "round";
      let open = false;
      data.forEach((s, i) => {
        const x = padL + i * step + step / 2;
        if (s.latency_ms === null || s.latency_ms === undefined) {
          if (open) ctx.stroke();
          open = false;
          return;
        }
        const y = padT + ph - (Math.min(s.latency_ms, maxLat) / maxLat) * ph;
        const prev = data[i - 1], next = data[i + 1];
        const alone = !(prev && prev.latency_ms != null) && !(next && next.latency_ms != null);
        if (alone) {
          ctx.beginPath();
          ctx.arc(x, y, 2.2, 0, Math.PI * 2);
          ctx.fill();
          return;
        }
        if (!open) { ctx.beginPath(); ctx.moveTo(x, y); open = true; } else ctx.lineTo(x, y);
      });
      if (open) ctx.stroke();
      // Hover marker.
      if (hover !== null && data[hover]) {
        const x = padL + hover * step + step / 2;
        ctx.strokeStyle = colText;
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(Math.round(x) + 0.5, padT);
        ctx.lineTo(Math.round(x) + 0.5, padT + ph);
        ctx.stroke();
      }
      geom = { padL, pw, step, padT, data };
      const empty = document.getElementById(canvas.dataset.empty || "");
      if (empty) empty.hidden = data.some((s) => s.rps > 0);
    }

    canvas.addEventListener("mousemove", (e) => {
      if (!geom) return;
      const r = canvas.getBoundingClientRect();
      const i = Math.floor((e.clientX - r.left - geom.padL) / geom.step);
      if (i < 0 || i >= geom.data.length) { hover = null; tip.hidden = true; render(); return; }
      hover = i;
      const s = geom.data[i];
      tip.textContent = "";
      tip.append(
        document.createTextNode(new Date(s.t * 1000).toLocaleTimeString(VC.lang === "zh" ? "zh-CN" : "en-US", { hour12: false })),
        document.createElement("br"),
        document.createTextNode(VC.t("chart.rps") + ": " + VC.fmt.num(s.rps)),
        document.createElement("br"),
        document.createTextNode(VC.t("chart.latency") + ": " + VC.fmt.ms(s.latency_ms)),
      );
      if (s.errors) tip.append(document.createElement("br"), document.createTextNode(VC.t("chart.errors") + ": " + s.errors));
      tip.hidden = false;
      tip.style.left = geom.padL + i * geom.step + geom.step / 2 + 4 + "px";
      tip.style.top = e.clientY - r.top + 2 + "px";
      render();
    });
    canvas.addEventListener("mouseleave", () => { hover = null; tip.hidden = true; render(); });
    // Redraw after layout settles (drawing inside the observer callback would resize within the same frame).
    let pending = 0;
    if (window.ResizeObserver) new ResizeObserver(() => { cancelAnimationFrame(pending); pending = requestAnimationFrame(render); }).observe(canvas);
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", render);
    // Keep the window sliding even when no samples arrive.
    setInterval(render, 1000);
    return { setSamples, addSamples, render };
  };
})();
