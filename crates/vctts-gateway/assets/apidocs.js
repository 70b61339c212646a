// The playground's API reference, rendered from /api/openapi.json (generated from the
// gateway's code), with a copyable curl example per operation.
"use strict";

(function () {
  const { t, h, $, api, copy } = VC;
  let spec = null;

  function resolve(s) {
    let guard = 0;
    while (s && s.$ref && guard++ < 20) {
      const name = s.$ref.split("/").pop();
      s = (spec.components && spec.components.schemas && spec.components.schemas[name]) || {};
    }
    return s || {};
  }

  function typeOf(s) {
    s = resolve(s);
    if (s.oneOf || s.anyOf) return (s.oneOf || s.anyOf).map(typeOf).filter((x) => x !== "null").join(" | ");
    let ty = Array.isArray(s.type) ? s.type.filter((x) => x !== "null").join(" | ") : s.type;
    if (s.enum) return s.enum.map((x) => JSON.stringify(x)).join(" | ");
    if (ty === "array") return typeOf(s.items || {}) + "[]";
    if (s.format && ty) return `${ty} (${s.format})`;
    return ty || "object";
  }

  function example(s, depth) {
    depth = depth || 0;
    s = resolve(s);
    if (depth > 6) return null;
    if (s.example !== undefined) return s.example;
    if (s.examples && s.examples.length) return s.examples[0];
    if (s.default !== undefined) return s.default;
    if (s.enum) return s.enum[0];
    if (s.oneOf || s.anyOf) {
      const alt = (s.oneOf || s.anyOf).find((x) => resolve(x).type !== "null") || {};
      return example(alt, depth + 1);
    }
    if (s.allOf) return Object.assign({}, ...s.allOf.map((x) => example(x, depth + 1)));
    const ty = Array.isArray(s.type) ? s.type.find((x) => x !== "null") : s.type;
    if (ty === "object" || s.properties) {
      const out = {};
      const req = new Set(s.required || []);
      for (const [k, p] of Object.entries(s.properties || {})) {
        const rp = resolve(p);
        if (req.has(k) || rp.example !== undefined || depth === 0) {
          const v = example(p, depth + 1);
          if (v !== null && v !== undefined) out[k] = v;
        }
      }
      return out;
    }
    if (ty === "array") { const v = example(s.items || {}, depth + 1); return v === null ? [] : [v]; }
    if (ty === "integer") return s.minimum !== undefined ? s.minimum : 0;
    if (ty === "number") return s.minimum !== undefined ? s.minimum : 0;
    if (ty === "boolean") return false;
    if (ty === "string") return s.format === "binary" ? "@file" : "string";
    return null;
  }

  function curl(path, method, op) {
    const origin = location.origin;
    let url = origin + path.replace(/\{(\w+)\}/g, (m, name) => {
      const p = (op.parameters || []).find((x) => x.name === name);
      const ex = p && (p.example !== undefined ? p.example : p.schema && resolve(p.schema).example);
      return ex !== undefined ? ex : "<" + name + ">";
    });
    const q = (op.parameters || []).filter((p) => p.in === "query" && p.required);
    if (q.length) url += "?" + q.map((p) => p.name + "=" + encodeURIComponent(example(p.schema || {}) ?? "")).join("&");
    const lines = [];
    const m = method.toUpperCase();
    lines.push(`curl${m === "GET" ? "" : " -X " + m} '${url}'`);
    const sec = (op.security || []).flatMap((s) => Object.keys(s));
    if (sec.includes("admin_token")) lines.push(`  -H "Authorization: Bearer $VCTTS_ADMIN_TOKEN"`);
    else if (sec.includes("cluster_token")) lines.push(`  -H "Authorization: Bearer $VCTTS_CLUSTER_TOKEN"`);
    else if (sec.includes("api_key")) lines.push(`  -H "Authorization: Bearer $VCTTS_API_KEY"  # only if the gateway has --api-keys`);
    const content = op.requestBody && op.requestBody.content;
    if (content) {
      if (content["application/json"]) {
        const ex = content["application/json"].example !== undefined ? content["application/json"].example : example(content["application/json"].schema || {});
        lines.push(`  -H 'Content-Type: application/json'`);
        lines.push(`  -d '${JSON.stringify(ex).replace(/'/g, "'\\''")}'`);
      } else if (content["multipart/form-data"]) {
        const s = resolve(content["multipart/form-data"].schema || {});
        for (const [k, p] of Object.entries(s.properties || {})) {
          const rp = resolve(p);
          if (rp.format === "binary" || rp.contentMediaType) lines.push(`  -F '${k}=@reference.wav'`);
          else if ((s.required || []).includes(k) || rp.example !== undefined) lines.push(`  -F '${k}=${example(p)}'`);
        }
      }
    }
    const ok = op.responses && (op.responses["200"] || op.responses["201"]);
    const types = ok && ok.content ? Object.keys(ok.content) : [];
    if (types.some((x) => x.startsWith("audio/"))) lines.push("  -o speech.wav");
    else if (types.includes("application/zip")) lines.push("  -o result.zip");
    return lines.join(" \\\n");
  }

  /** Which credential an operation needs, as a short label. */
  function lockLabel(op) {
    const names = (op.security || []).flatMap((s) => Object.keys(s));
    if (names.includes("admin_token")) return t("docs.admin");
    if (names.includes("cluster_token")) return t("docs.cluster");
    if (names.includes("api_key")) return t("docs.apiKey");
    return "";
  }

  function codeBlock(text) {
    const btn = h("button", { type: "button", class: "copy" }, t("common.copy"));
    btn.addEventListener("click", () => copy(text, btn));
    return h("div", { class: "code-wrap" }, h("pre", { class: "code" }, text), btn);
  }

  function schemaTable(s) {
    s = resolve(s);
    const props = Object.entries(s.properties || {});
    if (!props.length) return null;
    const req = new Set(s.required || []);
    return h("table", null,
      h("thead", null, h("tr", null, h("th", null, t("docs.field")), h("th", null, t("docs.type")), h("th", null, t("docs.description")))),
      h("tbody", null, props.map(([k, p]) => h("tr", null,
        h("td", { class: "mono" }, k, req.has(k) ? h("span", { class: "req" }, " *") : null),
        h("td", { class: "mono" }, typeOf(p)),
        h("td", null, resolve(p).description || p.description || "")))));
  }

  function render() {
    const root = $("#api-docs");
    root.textContent = "";
    if (!spec) return;
    const byTag = new Map();
    for (const tg of spec.tags || []) byTag.set(tg.name, []);
    let count = 0;
    for (const [path, item] of Object.entries(spec.paths || {})) {
      for (const m of ["get", "post", "put", "patch", "delete"]) {
        const op = item[m];
        if (!op) continue;
        const tag = (op.tags && op.tags[0]) || "other";
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push({ path, m, op });
        count++;
      }
    }
    $("#docs-hint").textContent = t("docs.hint", { n: count, v: (spec.info && spec.info.version) || "" });
    for (const [tag, ops] of byTag) {
      if (!ops.length) continue;
      const tagInfo = (spec.tags || []).find((x) => x.name === tag);
      root.append(h("div", { class: "tag-title" }, tag, tagInfo && tagInfo.description ? h("span", { class: "tag-desc" }, " — " + tagInfo.description) : null));
      for (const { path, m, op } of ops) {
        const d = h("details", { class: "op", "data-op": m + " " + path });
        d.append(h("summary", null,
          h("span", { class: "method " + m }, m.toUpperCase()),
          h("span", { class: "path" }, path),
          h("span", { class: "summary" }, op.summary || ""),
          lockLabel(op) ? h("span", { class: "lock" }, lockLabel(op)) : null));
        const body = h("div", { class: "detail" });
        if (op.description) body.append(h("p", null, op.description));
        const params = op.parameters || [];
        if (params.length) {
          body.append(h("h4", null, t("docs.params")), h("table", null,
            h("thead", null, h("tr", null, h("th", null, t("docs.field")), h("th", null, t("docs.in")), h("th", null, t("docs.type")), h("th", null, t("docs.description")))),
            h("tbody", null, params.map((p) => h("tr", null,
              h("td", { class: "mono" }, p.name, p.required ? h("span", { class: "req" }, " *") : null),
              h("td", null, p.in), h("td", { class: "mono" }, typeOf(p.schema || {})), h("td", null, p.description || ""))))));
        }
        const content = op.requestBody && op.requestBody.content;
        if (content) {
          const [ct, media] = Object.entries(content)[0];
          body.append(h("h4", null, t("docs.body") + " · " + ct));
          const tbl = schemaTable(media.schema || {});
          if (tbl) body.append(tbl);
        }
        const resps = Object.entries(op.responses || {});
        if (resps.length) {
          body.append(h("h4", null, t("docs.responses")), h("table", null, h("tbody", null, resps.map(([code, r]) =>
            h("tr", null, h("td", { class: "mono" }, code), h("td", null, r.description || ""), h("td", { class: "mono" }, r.content ? Object.keys(r.content).join(", ") : ""))))));
        }
        body.append(h("h4", null, t("docs.example")), codeBlock(curl(path, m, op)));
        d.append(body);
        root.append(d);
      }
    }
    // The WebSocket feed is not an HTTP operation; show how to listen to it.
    const ws = (spec["x-websocket"] && spec["x-websocket"].events) || null;
    const d = h("details", { class: "op", "data-op": "ws /ws" });
    d.append(h("summary", null, h("span", { class: "method ws" }, "WS"), h("span", { class: "path" }, "/ws"), h("span", { class: "summary" }, t("docs.ws"))));
    const body = h("div", { class: "detail" });
    body.append(h("p", null, t("docs.ws.text")));
    if (ws) body.append(h("table", null, h("tbody", null, Object.entries(ws).map(([k, v]) => h("tr", null, h("td", { class: "mono" }, k), h("td", null, v))))));
    const wsUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    body.append(h("h4", null, t("docs.example")), codeBlock(
      `const ws = new WebSocket("${wsUrl}");\nws.onmessage = (e) => {\n  const msg = JSON.parse(e.data); // {"type", "data", "ts"}\n  console.log(msg.type, msg.data);\n};`));
    d.append(body);
    root.append(d);
  }

  async function load() {
    try {
      spec = await api("/api/openapi.json");
      render();
    } catch (e) {
      $("#api-docs").textContent = "";
      $("#api-docs").append(h("div", { class: "empty" }, e.status === 404 ? t("docs.missing") : t("docs.failed", { m: e.message })));
    }
  }

  VC.live.onOpen(() => { if (!spec) load(); });
  document.addEventListener("vctts:lang", render);
})();
