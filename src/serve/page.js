// The datadao dashboard's script, served as /page.js. Nothing taken from the URL, an
// uploaded file, a response or a setting is ever parsed as HTML: every node is built
// with DOM calls and every text goes in through textContent (the page's
// Content-Security-Policy allows no inline script either).
"use strict";
// The one palette, as the server serves it (`/api/schema`'s palette): series colours
// handed out in order; agent types keep their own colour on every chart.
let COLORS = ["#1f77b4"];
// The chart panels, as the server describes them (`/api/schema`'s panels): each line
// names the path of its values in a run's series; `each_of` draws every entry of one
// object (the run's use cases).
let PANELS = [];
function valuesAt(series, path) {
  let v = series;
  for (const k of path) { if (v === null || typeof v !== "object" || !own(v, k)) return null; v = v[k]; }
  return Array.isArray(v) ? v : null;
}
function panelFrom(spec) {
  const lines = s => {
    const out = [];
    for (const l of spec.lines) {
      const ys = valuesAt(s, l.path);
      if (ys) out.push([l.label, l.scale === 1 ? ys : ys.map(v => v === null ? null : v * l.scale), l.color, l.dashed]);
    }
    if (spec.each_of) {
      const group = own(s, spec.each_of) ? s[spec.each_of] : null;
      // A scenario's own types keep their colour from the one palette, as the run names it.
      const colors = own(s, "own_type_colors") && s.own_type_colors && typeof s.own_type_colors === "object" ? s.own_type_colors : {};
      if (group && typeof group === "object") for (const k of Object.keys(group)) if (Array.isArray(group[k])) out.push(own(colors, k) && typeof colors[k] === "string" ? [k, group[k], colors[k]] : [k, group[k]]);
    }
    return out;
  };
  return {id: spec.id, title: spec.title, log: spec.log, series: spec.band, empty: spec.empty, lines};
}
const $ = id => document.getElementById(id);
// A DOM element with properties (className, textContent, title, ...), dataset entries
// and children: never HTML.
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === "dataset") Object.assign(e.dataset, v); else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}
// Settings keyed by whatever the URL or a file says, `__proto__` included: no prototype.
const dict = from => Object.assign(Object.create(null), from || {});
const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const state = {schema:null, presetValues:dict(), preset:"", settings:dict(), current:null, band:null, pins:[], error:null, errorKey:null, errorKeys:[]};
// Whether the current error is about `key`: its key, one of its keys, or a group it
// names (`pie.shares`, `agents.<type>.share`) that `key` belongs to.
function errorAbout(key) {
  const named = [state.errorKey, ...(state.errorKeys || [])].filter(k => typeof k === "string");
  return named.some(k => k === key || key.startsWith(k + ".") ||
    (k.includes("<type>") && new RegExp("^" + k.split("<type>").map(p => p.replace(/[.]/g, "[.]")).join("[a-z_]+") + "$").test(key)));
}
const view = {};           // per panel: {log, x0, x1}
const session = Math.random().toString(36).slice(2);
let seq = 0, inflight = null;
// What the browser tests read: the last run, renders so far, change-to-redraw times.
window.__datadao = {renders:0, latencies:[], lastRun:null, lastBand:null, changedAt:0, cspViolations:[]};
// Anything the Content-Security-Policy blocked (the tests expect nothing).
document.addEventListener("securitypolicyviolation", e => window.__datadao.cspViolations.push(e.violatedDirective + " " + e.blockedURI));

function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Math.round(v * 1e4) / 1e4);
}

function scenario() { return {preset: state.preset || null, settings: state.settings}; }

// ---- URL: the non-default settings, so a link reproduces a view ------------------
function writeUrl() {
  const p = new URLSearchParams();
  if (state.preset) p.set("preset", state.preset);
  for (const [k, v] of Object.entries(state.settings)) p.set(k, JSON.stringify(v));
  history.replaceState(null, "", "#" + p.toString());
}
function readUrl() {
  const p = new URLSearchParams(location.hash.slice(1));
  state.preset = p.get("preset") || "";
  state.settings = dict();
  for (const [k, v] of p.entries()) {
    if (k === "preset") continue;
    try { state.settings[k] = JSON.parse(v); } catch { state.settings[k] = v; }
  }
}

// ---- controls ----------------------------------------------------------------------
function value(key) { return own(state.settings, key) ? state.settings[key] : state.presetValues[key]; }

function buildControls() {
  const s = state.schema, box = $("levers");
  box.replaceChildren();
  const groups = {};
  for (const l of s.levers) (groups[l.group] ||= []).push({...l, kind:"range"});
  for (const c of s.choices) (groups[c.group] ||= []).push({...c, kind:"choice"});
  for (const [group, items] of Object.entries(groups)) {
    const h = document.createElement("h2"); h.textContent = group; box.appendChild(h);
    for (const it of items) {
      const d = document.createElement("div"); d.className = "lever"; d.dataset.key = it.key;
      const id = "k-" + it.key.replace(/[^a-z0-9]/gi, "-");
      if (it.kind === "range") {
        const num = el("input", {type: "number", step: String(it.step), dataset: {num: ""}});
        const range = el("input", {type: "range", id, min: String(it.min), max: String(it.max), step: String(it.step), dataset: {range: ""}});
        d.append(el("div", {className: "top"}, el("label", {htmlFor: id, textContent: it.label, title: it.key}), num), range,
          el("div", {className: "help", textContent: it.help || ""}), el("div", {className: "meta"}), el("div", {className: "error"}));
        range.addEventListener("input", () => { num.value = range.value; change(it.key, Number(range.value)); });
        num.addEventListener("change", () => { if (num.value !== "") change(it.key, Number(num.value)); });
      } else {
        const sel = el("select", {id, dataset: {choice: ""}}, ...it.options.map(o => el("option", {value: o, textContent: o})));
        d.append(el("div", {className: "top"}, el("label", {htmlFor: id, textContent: it.label, title: it.key}), sel),
          el("div", {className: "help", textContent: it.help || ""}), el("div", {className: "meta"}), el("div", {className: "error"}));
        // A yes/no choice is a boolean setting, not the text "true".
        const typed = t => t === "true" ? true : t === "false" ? false : t;
        d.querySelector("select").addEventListener("change", e => change(it.key, typed(e.target.value)));
      }
      box.appendChild(d);
    }
  }
  $("keys").replaceChildren(...Object.keys(s.defaults).map(k => el("option", {value: k})));
}

function syncControls() {
  for (const d of document.querySelectorAll(".lever[data-key]")) {
    const key = d.dataset.key, v = value(key), def = state.presetValues[key];
    const it = state.schema.levers.find(l => l.key === key);
    const range = d.querySelector("[data-range]"), num = d.querySelector("[data-num]"), sel = d.querySelector("[data-choice]");
    if (range && document.activeElement !== range) range.value = v;
    if (num && document.activeElement !== num) num.value = v;
    if (sel) sel.value = v;
    const changed = own(state.settings, key);
    const meta = d.querySelector(".meta");
    meta.replaceChildren((it ? `range ${it.min} to ${it.max} · ` : "") + `default ${show(def)}` + (state.preset ? ` (preset ${state.preset})` : ""));
    if (changed) meta.append(" · ", el("span", {className: "changed", textContent: `now ${show(v)}`}));
    d.querySelector(".error").textContent = state.error && errorAbout(key) ? state.error : "";
  }
  const shown = new Set([...state.schema.levers, ...state.schema.choices].map(l => l.key));
  const custom = Object.entries(state.settings).filter(([k]) => !shown.has(k));
  $("custom").replaceChildren(...custom.map(([k, v]) => {
    const unset = el("button", {textContent: "×", title: "back to the default"});
    unset.onclick = () => { delete state.settings[k]; changed(); };
    return el("div", {className: "custom"}, el("code", {title: k, textContent: `${k} = ${JSON.stringify(v)}`}), unset);
  }));
  const searchErr = state.errorKey && !shown.has(state.errorKey) ? state.error : (state.errorKey ? "" : (state.error || ""));
  $("search-error").textContent = state.errorKey && shown.has(state.errorKey) ? "" : searchErr;
  $("preset").value = state.preset;
  const s = encodeURIComponent(JSON.stringify(scenario()));
  $("dl-toml").href = "/api/scenario.toml?s=" + s;
  $("dl-csv").href = "/api/data.csv?s=" + s;
}

// A value as text, whatever its type (a number to 6 significant digits: a rebalanced
// share is 0.0416667, not 0.041666666666666664).
function show(v) { return typeof v === "string" ? v : typeof v === "number" ? String(+v.toPrecision(6)) : JSON.stringify(v); }

function setValue(key, v) {
  if (v === state.presetValues[key]) delete state.settings[key]; else state.settings[key] = v;
}
// The other shares of a group make room for a share moved alone, in proportion to their
// sizes, equally if they are all 0, the last taking what rounding leaves: the settings
// layer's rule (`/api/schema`'s share_groups name the groups), so the sliders move
// together and the page sends the whole group.
function makeRoom(others, room) {
  room = Math.max(room, 0);
  const old = others.reduce((a, b) => a + b, 0);
  let given = 0;
  return others.map((v, i) => {
    const share = i === others.length - 1 ? Math.max(room - given, 0) : old > 0 ? v * (room / old) : room / others.length;
    given += share;
    return share;
  });
}
// A link or file that sets only some shares of a group: the others make room, as the
// server would, so the sliders show what runs.
function completeGroups() {
  for (const group of state.schema.share_groups || []) {
    const given = group.filter(k => own(state.settings, k) && typeof state.settings[k] === "number");
    if (!given.length || given.length === group.length) continue;
    const others = group.filter(k => !given.includes(k));
    const setSum = given.reduce((a, k) => a + state.settings[k], 0);
    const old = others.map(k => Number(value(k)) || 0);
    if (Math.abs(setSum + old.reduce((a, b) => a + b, 0) - 1) <= 1e-9) continue;
    makeRoom(old, 1 - setSum).forEach((v, i) => setValue(others[i], v));
  }
}
function change(key, v) {
  const group = (state.schema.share_groups || []).find(g => g.includes(key));
  if (group && typeof v === "number" && Number.isFinite(v)) {
    const others = group.filter(k => k !== key);
    const shares = makeRoom(others.map(k => Number(value(k)) || 0), 1 - v);
    setValue(key, v);
    others.forEach((k, i) => setValue(k, shares[i]));
  } else setValue(key, v);
  changed();
}
function changed() {
  window.__datadao.changedAt = performance.now();
  writeUrl(); syncControls(); rerun();
}

async function loadPreset() {
  const r = await fetch("/api/config" + (state.preset ? "?preset=" + encodeURIComponent(state.preset) : ""));
  state.presetValues = dict(r.ok ? await r.json() : {});
}

// ---- running -----------------------------------------------------------------------
async function post(path, body, signal) {
  const r = await fetch(path, {method:"POST", headers:{"content-type":"application/json"}, body:JSON.stringify(body), signal});
  const data = await r.json().catch(() => ({error: "the server answered " + r.status}));
  if (!r.ok) { const e = new Error(data.error || r.statusText); e.key = data.key; e.keys = data.keys; e.status = r.status; throw e; }
  return data;
}

// Why a Monte Carlo band can have no width, and what gives it one.
const FLAT_BAND = "the band has no width: this scenario draws nothing at random, so every seed runs the same; noise.skip_probability.<type>, noise.amount_jitter.<type>, random data draws (as in the scarce-data preset) or governance's turnout add randomness";
// Whether every banded series has its 5th and 95th percentile equal at every step.
function flatBand(band) {
  return state.schema.band_series.every(name => {
    const lo = band.series[name + "_p5"] || [], hi = band.series[name + "_p95"] || [];
    return lo.every((v, i) => v === hi[i]);
  });
}
async function rerun() {
  if (inflight) inflight.abort();
  const ctl = new AbortController(); inflight = ctl;
  const mySeq = ++seq;
  setStatus("running…");
  try {
    const body = {...scenario(), session, seq: mySeq};
    const run = await post("/api/run", body, ctl.signal);
    let band = null;
    if ($("band").checked) band = await post("/api/band", {...scenario(), seeds: Number($("seeds").value) || 20, session, seq: mySeq}, ctl.signal);
    if (mySeq !== seq) return;
    state.current = run; state.band = band; state.error = null; state.errorKey = null; state.errorKeys = [];
    window.__datadao.lastRun = run; window.__datadao.lastBand = band;
    draw();
    const took = performance.now() - window.__datadao.changedAt;
    window.__datadao.latencies.push(took);
    setStatus(`${run.series.step.length} points · server ${run.elapsed_ms.toFixed(0)} ms · change to redraw ${took.toFixed(0)} ms` + (band ? ` · band of ${band.seeds} seeds ${band.elapsed_ms.toFixed(0)} ms` : "") + (band && flatBand(band) ? " · " + FLAT_BAND : ""));
  } catch (e) {
    if (e.name === "AbortError" || e.status === 409 || mySeq !== seq) return;
    state.error = e.message; state.errorKey = e.key || null; state.errorKeys = e.keys || [];
    syncControls(); draw();
    setStatus("not updated: " + e.message, true);
  }
}

function setStatus(text, err) { const s = $("status"); s.textContent = text; s.className = "status" + (err ? " err" : ""); }

// ---- pins ----------------------------------------------------------------------------
function describe(pin) {
  const diffs = [];
  const keys = new Set([...Object.keys(pin.settings), ...Object.keys(state.settings)]);
  if (pin.preset !== state.preset) diffs.push(`preset ${pin.preset || "seed"}`);
  for (const k of keys) {
    const a = pin.settings[k], b = state.settings[k];
    if (JSON.stringify(a) !== JSON.stringify(b)) diffs.push(`${k.split(".").slice(-1)[0]}=${a === undefined ? "default" : show(a)}`);
  }
  return diffs.length ? diffs.join(", ") : "same settings";
}
$("pin").onclick = () => {
  if (!state.current) return;
  state.pins.push({series: state.current.series, preset: state.preset, settings: dict(state.settings), color: COLORS[(state.pins.length + 1) % COLORS.length]});
  if (state.pins.length > 6) state.pins.shift();
  draw();
};
$("unpin").onclick = () => { state.pins = []; draw(); };

// ---- charts ----------------------------------------------------------------------------
function buildCharts() {
  const box = $("charts");
  for (const p of PANELS) {
    view[p.id] = {log: !!p.log, x0: null, x1: null};
    const d = document.createElement("div"); d.className = "panel";
    d.append(el("div", {className: "head"}, el("b", {textContent: p.title}),
        el("button", {textContent: p.log ? "linear scale" : "log scale", title: "switch the y axis", dataset: {log: ""}}),
        el("button", {textContent: "⤢", title: "Reset zoom", dataset: {reset: ""}})),
      el("canvas", {id: "chart-" + p.id}), el("div", {className: "note"}));
    box.appendChild(d);
    d.querySelector("[data-log]").onclick = e => { view[p.id].log = !view[p.id].log; e.target.textContent = view[p.id].log ? "linear scale" : "log scale"; draw(); };
    d.querySelector("[data-reset]").onclick = () => { view[p.id].x0 = view[p.id].x1 = null; draw(); };
    const c = d.querySelector("canvas");
    let dragFrom = null;
    c.addEventListener("mousedown", e => { dragFrom = e.offsetX; });
    c.addEventListener("mouseup", e => {
      const g = c._geom; if (dragFrom === null || !g) return;
      const a = Math.min(dragFrom, e.offsetX), b = Math.max(dragFrom, e.offsetX); dragFrom = null;
      if (b - a < 6) return;
      view[p.id].x0 = g.invX(a); view[p.id].x1 = g.invX(b); draw();
    });
    c.addEventListener("dblclick", () => { view[p.id].x0 = view[p.id].x1 = null; draw(); });
    c.addEventListener("mousemove", e => hover(p, c, e));
    c.addEventListener("mouseleave", () => { $("tip").style.display = "none"; });
  }
}

// ---- the flow diagram: shapes laid out by the server (the same as flows.png) -------
const SVG = "http://www.w3.org/2000/svg";
const HEX = /^#[0-9a-f]{6}$/;
function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}
function buildFlows() {
  const d = el("div", {className: "panel flows", id: "flows-panel"},
    el("div", {className: "head"}, el("b", {textContent: "Flows over the run (the same diagram as flows.png)"})));
  d.append(svg("svg", {id: "flows", role: "img", "aria-label": "flow diagram of the run"}), el("div", {className: "note"}));
  $("charts").appendChild(d);
}
function drawFlows() {
  const box = $("flows"), note = $("flows-panel").querySelector(".note");
  box.replaceChildren();
  const f = state.current && state.current.flows;
  note.textContent = state.current ? (f ? "" : "no steps ran: nothing flowed") : "running…";
  if (!f) return;
  const num = v => (typeof v === "number" && Number.isFinite(v)) ? v : 0;
  const color = c => (typeof c === "string" && HEX.test(c)) ? c : "#888888";
  box.setAttribute("viewBox", `0 0 ${num(f.width)} ${num(f.height)}`);
  for (const h of f.headings || []) {
    const t = svg("text", {x: num(h.x), y: num(h.y) + 18, "font-size": 20, fill: "#1d2733"}); t.textContent = String(h.text); box.append(t);
  }
  for (const b of f.bands || []) {
    const pts = (b.points || []).map(p => `${num(p[0])},${num(p[1])}`).join(" ");
    box.append(svg("polygon", {points: pts, fill: color(b.color), "fill-opacity": 0.35}));
  }
  const size = num(f.label_size) || 15;
  for (const n of f.nodes || []) {
    const [x, y, w, h] = (n.rect || []).map(num);
    box.append(svg("rect", {x, y, width: w, height: h, fill: color(n.color)}));
    const lines = Array.isArray(n.lines) ? n.lines.map(String) : [];
    const t = svg("text", {x: num(n.label_x), y: num(n.label_y) - 3, "font-size": size, fill: "#1d2733"});
    t.textContent = lines[0] || "";
    const v = svg("text", {x: num(n.label_x), y: num(n.label_y) + size, "font-size": size, fill: "#555555"});
    v.textContent = lines[1] || "";
    box.append(t, v);
  }
}

function linesFor(p) {
  const out = [];
  if (state.current) {
    const cur = p.lines(state.current.series);
    cur.forEach(([label, ys, color, dashed], i) => out.push({label: state.pins.length ? label + " (now)" : label, xs: state.current.series.step, ys, color: color || (cur.length > 1 ? COLORS[i % COLORS.length] : COLORS[0]), width: 2, dash: dashed ? [8, 6] : undefined}));
  }
  state.pins.forEach((pin, n) => {
    const lines = p.lines(pin.series);
    lines.forEach(([label, ys, color], i) => out.push({label: `${label} [pin ${n + 1}: ${describe(pin)}]`, xs: pin.series.step, ys, color: color || (lines.length > 1 ? COLORS[i % COLORS.length] : pin.color), width: 1.5, dash: [5, 4 + n]}));
  });
  return out;
}

function draw() {
  const t0 = performance.now();
  for (const p of PANELS) drawPanel(p);
  drawFlows();
  window.__datadao.renders++;
  window.__datadao.lastRenderMs = performance.now() - t0;
  $("pins").replaceChildren(...state.pins.map((pin, i) => {
    const s = el("span", {textContent: `pin ${i + 1}: ${describe(pin)}`});
    s.style.borderColor = pin.color;
    return s;
  }));
}

function drawPanel(p) {
  const c = $("chart-" + p.id), note = c.parentElement.querySelector(".note");
  const dpr = window.devicePixelRatio || 1, W = c.clientWidth, H = c.clientHeight;
  c.width = W * dpr; c.height = H * dpr;
  const ctx = c.getContext("2d"); ctx.setTransform(dpr, 0, 0, dpr, 0, 0); ctx.clearRect(0, 0, W, H);
  const lines = linesFor(p);
  let bands = [];
  if (state.band && p.series && state.schema.band_series.includes(p.series)) {
    const b = state.band.series, xs = b.step;
    bands.push({xs, lo: b[p.series + "_p5"], hi: b[p.series + "_p95"], color: COLORS[0]});
    lines.push({label: `median of ${state.band.seeds} seeds`, xs, ys: b[p.series + "_p50"], color: "#444", width: 1.5, dash: [2, 2]});
  }
  // A note says why a chart is empty (the first run still running, governance off);
  // an error is a small line in the corner, never over the chart.
  if (!lines.length) {
    note.className = "note" + (state.error && !state.current ? " err" : "");
    note.textContent = state.current ? (p.empty || "") : state.error ? "no chart yet: the run was refused (see the settings)" : "running…";
    c._geom = null; return;
  }
  markCoinciding(lines);
  note.className = state.error ? "note err" : "note";
  note.textContent = state.error ? "not updated: the last change was refused (see its setting)" : "";
  const v = view[p.id];
  const allX = lines[0].xs, xMin = v.x0 ?? allX[0], xMax = v.x1 ?? allX[allX.length - 1];
  let lo = Infinity, hi = -Infinity;
  const visit = (xs, ys) => { for (let i = 0; i < xs.length; i++) { const y = ys[i]; if (y === null || xs[i] < xMin || xs[i] > xMax) continue; if (v.log && !(y > 0)) continue; lo = Math.min(lo, y); hi = Math.max(hi, y); } };
  for (const l of lines) visit(l.xs, l.ys);
  for (const b of bands) { visit(b.xs, b.lo); visit(b.xs, b.hi); }
  const log = v.log && lo > 0 && Number.isFinite(lo);
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  if (hi === lo) { hi = lo + (Math.abs(lo) || 1) * 0.1; lo = lo - (Math.abs(lo) || 1) * 0.1; }
  // The legend gets rows of its own above the plot, so it never covers a line.
  ctx.font = "11px system-ui";
  const legend = [];
  if (lines.length > 1) {
    let x = 64, row = 0;
    for (const l of lines.slice(0, 12)) {
      const text = l.label.slice(0, 70), w = 22 + ctx.measureText(text).width + 12;
      if (x + w > W - 10 && x > 64) { x = 64; row++; }
      legend.push({l, text, x, row}); x += w;
    }
  }
  const legendRows = legend.length ? legend[legend.length - 1].row + 1 : 0;
  const L = 64, R = 10, T = 8 + legendRows * 14, B = 26;
  const tf = y => log ? Math.log10(y) : y;
  const y0 = tf(lo), y1 = tf(hi), pad = (y1 - y0) * 0.05;
  const X = x => L + (x - xMin) / Math.max(xMax - xMin, 1e-9) * (W - L - R);
  const Y = y => H - B - (tf(y) - (y0 - pad)) / ((y1 + pad) - (y0 - pad)) * (H - B - T);
  c._geom = {invX: px => xMin + (px - L) / (W - L - R) * (xMax - xMin), X, Y, lines, xMin, xMax};
  // axes and ticks
  ctx.strokeStyle = "#e3e7ec"; ctx.fillStyle = "#6b7785"; ctx.font = "11px system-ui"; ctx.lineWidth = 1;
  const ticks = log ? logTicks(lo, hi) : linTicks(lo, hi);
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const t of ticks) { const py = Y(t); if (py < T - 1 || py > H - B + 1) continue; ctx.beginPath(); ctx.moveTo(L, py); ctx.lineTo(W - R, py); ctx.stroke(); ctx.fillText(fmt(t), L - 4, py); }
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of linTicks(xMin, xMax)) { const px = X(t); ctx.beginPath(); ctx.moveTo(px, T); ctx.lineTo(px, H - B); ctx.stroke(); ctx.fillText(fmt(t), px, H - B + 4); }
  ctx.save(); ctx.beginPath(); ctx.rect(L, T, W - L - R, H - B - T); ctx.clip();
  for (const b of bands) {
    ctx.fillStyle = b.color + "30"; ctx.beginPath(); let started = false;
    for (let i = 0; i < b.xs.length; i++) { if (b.hi[i] === null || (log && !(b.hi[i] > 0))) continue; const px = X(b.xs[i]), py = Y(b.hi[i]); started ? ctx.lineTo(px, py) : ctx.moveTo(px, py); started = true; }
    for (let i = b.xs.length - 1; i >= 0; i--) { if (b.lo[i] === null || (log && !(b.lo[i] > 0))) continue; ctx.lineTo(X(b.xs[i]), Y(b.lo[i])); }
    ctx.closePath(); ctx.fill();
  }
  for (const l of lines) {
    ctx.strokeStyle = l.color; ctx.lineWidth = l.width; ctx.setLineDash(l.dash || []); ctx.beginPath(); let pen = false;
    for (let i = 0; i < l.xs.length; i++) { const y = l.ys[i]; if (y === null || (log && !(y > 0))) { pen = false; continue; } const px = X(l.xs[i]), py = Y(y); pen ? ctx.lineTo(px, py) : ctx.moveTo(px, py); pen = true; }
    ctx.stroke();
  }
  ctx.restore(); ctx.setLineDash([]);
  // legend, in its own rows above the plot
  ctx.font = "11px system-ui"; ctx.textAlign = "left"; ctx.textBaseline = "middle";
  for (const {l, text, x, row} of legend) {
    const y = 8 + row * 14;
    ctx.strokeStyle = l.color; ctx.lineWidth = 3; ctx.setLineDash(l.dash || []); ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + 16, y); ctx.stroke();
    ctx.setLineDash([]); ctx.fillStyle = "#1d2733"; ctx.fillText(text, x + 22, y);
  }
}

// A line drawn on top of an earlier one (within 2% at four steps in five) is dashed,
// with a dash of its own, and says so in the legend, as the figures do.
function markCoinciding(lines) {
  let dashed = lines.filter(l => l.dash).length;
  for (let i = 1; i < lines.length; i++) {
    const a = lines[i];
    if (a.dash) continue;
    const j = lines.slice(0, i).findIndex(b => {
      if (b.xs.length !== a.xs.length || !a.xs.length) return false;
      let near = 0;
      for (let k = 0; k < a.xs.length; k++) {
        const p = a.ys[k], q = b.ys[k];
        if (p === null || q === null) { if (p === q) near++; continue; }
        if (a.xs[k] === b.xs[k] && Math.abs(p - q) <= 0.02 * Math.max(Math.abs(p), Math.abs(q))) near++;
      }
      return near >= 0.8 * a.xs.length;
    });
    if (j >= 0) { a.dash = [Math.max(3, 8 - 2 * dashed), 6 + 4 * dashed]; dashed++; a.label += ` (dashed: on ${lines[j].label})`; }
  }
}

function linTicks(a, b) {
  const span = b - a; if (!(span > 0)) return [a];
  const step0 = Math.pow(10, Math.floor(Math.log10(span / 5))), m = span / 5 / step0;
  const step = step0 * (m > 5 ? 10 : m > 2 ? 5 : m > 1 ? 2 : 1);
  const out = []; for (let t = Math.ceil(a / step) * step; t <= b + step * 1e-9 && out.length < 20; t += step) out.push(t);
  return out;
}
function logTicks(a, b) {
  const out = []; const e0 = Math.floor(Math.log10(a)), e1 = Math.ceil(Math.log10(b));
  const every = Math.max(1, Math.ceil((e1 - e0) / 6));
  for (let e = e0; e <= e1; e += every) out.push(Math.pow(10, e));
  return out;
}

function hover(p, c, e) {
  const g = c._geom, tip = $("tip"); if (!g) return;
  const x = g.invX(e.offsetX);
  const rows = [];
  for (const l of g.lines) {
    let best = 0, dist = Infinity;
    for (let i = 0; i < l.xs.length; i++) { const d = Math.abs(l.xs[i] - x); if (d < dist) { dist = d; best = i; } }
    rows.push(`${l.label.slice(0, 60)}: ${fmt(l.ys[best])}  (step ${l.xs[best]})`);
  }
  tip.textContent = rows.join("\n"); tip.style.display = "block";
  tip.style.left = (e.clientX + 14) + "px"; tip.style.top = (e.clientY + 10) + "px";
}

// ---- header actions ------------------------------------------------------------------
$("preset").onchange = async e => { state.preset = e.target.value; state.settings = dict(); await loadPreset(); changed(); };
$("band").onchange = () => changed();
$("seeds").onchange = () => { if ($("band").checked) changed(); };
$("reset").onclick = async () => { state.preset = ""; state.settings = dict(); await loadPreset(); changed(); };
$("search").addEventListener("change", () => {
  const k = $("search").value, def = state.schema.defaults[k];
  const help = state.schema.help && own(state.schema.help, k) ? String(state.schema.help[k]) + " " : "";
  $("search-meta").textContent = own(state.schema.defaults, k) ? `${help}default ${JSON.stringify(def)}; now ${JSON.stringify(value(k))}` : "";
  if (own(state.schema.defaults, k)) $("search-value").value = typeof value(k) === "string" ? value(k) : JSON.stringify(value(k));
});
$("search-set").onclick = () => {
  const k = $("search").value.trim(), raw = $("search-value").value.trim();
  if (!k) return;
  let v; try { v = JSON.parse(raw); } catch { v = raw; }
  change(k, v);
};
// The upload is sent as JSON ({"name", "text"}), like every other request the page makes.
$("upload").onchange = async e => {
  const f = e.target.files[0]; if (!f) return;
  e.target.value = "";
  const limit = state.schema.limits.body_bytes || 65536;
  if (f.size > limit - 1024) { state.error = `uploaded file ${f.name} is ${f.size} bytes; accepted: at most ${limit - 1024}`; state.errorKey = null; syncControls(); setStatus("upload refused: " + state.error, true); return; }
  let data;
  try { data = await post("/api/parse-scenario", {name: f.name, text: await f.text()}); }
  catch (err) { state.error = err.message; state.errorKey = err.key || null; syncControls(); setStatus("upload refused: " + err.message, true); return; }
  state.preset = typeof data.preset === "string" ? data.preset : ""; state.settings = dict(data.settings); await loadPreset(); completeGroups(); changed();
};
window.addEventListener("resize", () => draw());

(async function start() {
  state.schema = await (await fetch("/api/schema")).json();
  PANELS = state.schema.panels.map(panelFrom);
  if (state.schema.palette && state.schema.palette.series.length) COLORS = state.schema.palette.series;
  $("preset").replaceChildren(el("option", {value: "", textContent: "seed (default)"}),
    ...state.schema.presets.filter(p => p.name !== "seed").map(p => el("option", {value: p.name, title: p.summary, textContent: p.name})));
  readUrl();
  buildControls(); buildCharts(); buildFlows();
  await loadPreset();
  completeGroups();
  changed();
})();
