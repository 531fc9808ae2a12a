// The dashboard: plain DOM, no framework. Text from the server (transcripts, replies, names)
// is only ever set as textContent, never as HTML.
"use strict";

const $ = (selector) => document.querySelector(selector);
const PATHS = { local: "local", cloud: "cloud", local_llm: "local model", fallback: "fallback" };
const VERBS = { lock: "Lock", unlock: "Unlock", open: "Open", close: "Close", stop: "Stop",
  turn_on: "Turn on", turn_off: "Turn off", set_brightness: "Dim", set_speed: "Set the speed of" };
// What the page measured, for the browser test and the benchmark: event -> arrival, in ms.
const measured = { arrival: [], rendered: [] };
window.dashboard = measured;

let csrf = "";
let devices = new Map();
let stream = null;
let reminders = { timers: [], alarms: [], offset: 0 };
let ticker = null;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key === "css") Object.assign(node.style, value); // CSSOM: the CSP refuses style attributes
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

async function api(path, body) {
  const options = { headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.headers["X-CSRF-Token"] = csrf;
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    live("the appliance cannot be reached");
    return { status: 0, ok: false, data: {} };
  }
  let data = {};
  try { data = await response.json(); } catch (error) { data = {}; }
  if (response.status === 401 && !path.startsWith("/api/auth")) showLogin();
  return { status: response.status, ok: response.ok, data };
}

function live(text) { $("#live").textContent = text; }
function clock(ts) { return new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }); }
function ms(value) { return `${Math.round(value)} ms`; }

// -- login ------------------------------------------------------------------------------------
let setupMode = false;

async function boot() {
  const { data } = await api("/api/auth");
  if (data.name) { $("#name").textContent = data.name; document.title = data.name; }
  if (data.authenticated) { csrf = data.csrf; start(); return; }
  showLogin(data);
}

async function showLogin(info) {
  if (!info) info = (await api("/api/auth")).data;
  if (stream) { stream.close(); stream = null; }
  $("#app").hidden = true;
  $("#login").hidden = false;
  setupMode = !info.password_set;
  $("#login-title").textContent = setupMode ? "Set a password" : "Log in";
  $("#password2").hidden = !setupMode;
  $("#login-button").textContent = setupMode ? "Set the password" : "Log in";
  $("#password").autocomplete = setupMode ? "new-password" : "current-password";
  let note = "";
  if (setupMode && !info.setup_allowed) {
    note = "No password is set yet. Open this page on the appliance itself (http://localhost:PORT), or set web.password_file in the config.";
    $("#login-button").disabled = true;
  } else if (setupMode) {
    note = "The first password (8 characters or more). The page then opens on the address set in web.host.";
  }
  $("#login-note").textContent = note;
  $("#password").focus();
}

async function submitLogin(event) {
  event.preventDefault();
  const password = $("#password").value;
  if (setupMode && password !== $("#password2").value) {
    $("#login-error").textContent = "The two passwords differ.";
    return;
  }
  const path = setupMode ? "/api/auth/setup" : "/api/auth/login";
  const { ok, data } = await api(path, { password });
  if (!ok) { $("#login-error").textContent = data.error || "That did not work."; return; }
  $("#password").value = $("#password2").value = $("#login-error").textContent = "";
  csrf = data.csrf;
  start();
}

async function logout() {
  await api("/api/auth/logout", {});
  csrf = "";
  showLogin();
}

// -- live updates -----------------------------------------------------------------------------
function start() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  openStream();
}

function openStream() {
  if (stream) stream.close();
  stream = new EventSource("/api/events");
  stream.onmessage = (message) => {
    const event = JSON.parse(message.data);
    const arrived = Date.now();
    if (event.t) measured.arrival.push({ type: event.type, ms: arrived - event.t });
    handle(event);
    if (event.t) measured.rendered.push({ type: event.type, ms: Date.now() - event.t });
    if (measured.arrival.length > 1000) { measured.arrival.splice(0, 500); measured.rendered.splice(0, 500); }
  };
  stream.onerror = async () => {
    if (stream && stream.readyState === EventSource.CLOSED) {
      const { data } = await api("/api/auth");
      if (!data.authenticated) { showLogin(data); return; }
      setTimeout(openStream, 2000);
    }
  };
}

let wakesSoon = null;
let afterReply = null; // a burst of replies fetches the timers and the latency chart once
function handle(event) {
  const data = event.data || {};
  switch (event.type) {
    case "hello": case "resync": loadAll(); break;
    case "state": setState(data.state); break;
    case "level": setLevel(data.dbfs); break;
    case "device": updateDevice(data); break;
    case "wake": live(`wake word heard (score ${data.probability ?? "?"})`); break;
    case "listening": live("listening…"); break;
    case "transcript": live(data.text ? `heard: “${data.text}”` : "heard nothing"); break;
    case "reply":
      addInteraction({ ...data, ts: event.t / 1000 }, true);
      clearTimeout(afterReply); afterReply = setTimeout(() => { loadReminders(); loadLatency(); }, 500);
      break;
    case "wake_check": case "timeout": case "done":
      clearTimeout(wakesSoon); wakesSoon = setTimeout(loadWakes, 300); break;
    case "error": live(`error in ${data.stage || "the assistant"}: ${data.message || ""}`); break;
    case "volume": $("#volume").value = data.percent; break;
    case "reminders": loadReminders(); break;
    case "forgotten": loadInteractions(); loadWakes(); loadLatency(); break;
    default: break;
  }
}

function loadAll() {
  loadAssistant(); loadDevices(); loadInteractions(); loadReminders(); loadLatency(); loadWakes(); loadChecks(false);
}

// -- the assistant ----------------------------------------------------------------------------
async function loadAssistant() {
  const { ok, data } = await api("/api/assistant");
  if (!ok) return;
  setState(data.muted ? "muted" : data.state);
  $("#mute").hidden = !data.can_mute;
  $("#meter").hidden = !data.level;
  $("#volume-box").hidden = data.volume === null;
  if (data.volume !== null) $("#volume").value = data.volume;
  $("#speaker-test").hidden = !data.speaker;
  $("#say-form").hidden = !data.speaker;
}

function setState(state) {
  const pill = $("#state");
  pill.textContent = state;
  pill.dataset.state = state;
  const muted = state === "muted";
  $("#mute").setAttribute("aria-pressed", String(muted));
  $("#mute").textContent = muted ? "Unmute" : "Mute";
  if (state === "idle") live("");
}

function setLevel(dbfs) {
  // -60 dBFS (a quiet room) .. 0 dBFS (full scale) across the bar.
  const share = Math.max(0, Math.min(1, (dbfs + 60) / 60));
  $("#meter span").style.width = `${Math.round(share * 100)}%`;
  $("#meter").title = `microphone ${dbfs} dBFS`;
}

// -- devices ----------------------------------------------------------------------------------
async function loadDevices() {
  const { ok, data } = await api("/api/devices");
  if (!ok) return;
  const box = $("#devices");
  box.replaceChildren();
  devices = new Map();
  for (const device of data.devices) {
    devices.set(device.id, device);
    box.append(deviceCard(device));
    if (device.kind === "sensor") loadSpark(device.id);
  }
}

function isOn(device) { return ["on", "open", "opening", "unlocked"].includes(device.state); }

function deviceCard(device) {
  const card = el("div", { class: "card", "data-device": device.id, "data-kind": device.kind });
  renderCard(card, device);
  return card;
}

function renderCard(card, device) {
  card.dataset.on = String(isOn(device));
  card.dataset.state = String(device.state);
  const head = el("div", {}, el("div", { class: "title", text: device.name }),
    el("div", { class: "area", text: [device.area, device.kind.replace("_", " ")].filter(Boolean).join(" · ") }));
  const parts = [head];
  const state = device.state === null ? "—" : String(device.state);
  const attrs = device.attributes || {};
  const can = (action) => device.actions.includes(action);
  if (["light", "switch", "fan"].includes(device.kind)) {
    const on = device.state === "on";
    parts.push(el("div", { class: "row" },
      el("button", { class: "toggle", type: "button", role: "switch", "aria-checked": String(on),
        "aria-label": `${device.name} ${on ? "on" : "off"}`, onclick: () => act(device, on ? "turn_off" : "turn_on") }),
      el("span", { class: "state", text: state })));
    const level = can("set_brightness") ? ["set_brightness", "brightness"] : can("set_speed") ? ["set_speed", "speed"] : null;
    if (level) {
      parts.push(el("label", { class: "state", text: `${level[1]} ${attrs[level[1]] ?? 0} %` }));
      parts.push(el("input", { type: "range", min: 0, max: 100, step: 5, value: attrs[level[1]] ?? 0, class: "level",
        "aria-label": `${device.name} ${level[1]}`, onchange: (e) => act(device, level[0], Number(e.target.value)) }));
    }
  } else if (device.kind === "cover") {
    parts.push(el("div", { class: "state", text: state }));
    const row = el("div", { class: "row" });
    for (const action of ["open", "close", "stop"]) {
      if (can(action)) row.append(el("button", { type: "button", class: `cover-${action}`, text: VERBS[action], onclick: () => act(device, action) }));
    }
    parts.push(row);
  } else if (device.kind === "lock") {
    const locked = device.state === "locked";
    parts.push(el("div", { class: "state", text: state }));
    parts.push(el("button", { type: "button", class: "lock-btn", text: locked ? "Unlock" : "Lock",
      onclick: () => act(device, locked ? "unlock" : "lock") }));
  } else if (device.kind === "binary_sensor") {
    parts.push(el("div", { class: "value", text: state }));
  } else if (device.kind === "sensor") {
    const shown = device.state === null ? "—" : `${device.state} ${device.unit || ""}`;
    parts.push(el("div", { class: "value", text: shown }));
    const old = card.querySelector(".spark");
    parts.push(old || svg("svg", { class: "spark", viewBox: "0 0 100 32", preserveAspectRatio: "none" }));
  }
  card.replaceChildren(...parts);
}

function updateDevice(change) {
  const device = devices.get(change.id);
  if (!device) return;
  device.state = change.state;
  device.attributes = change.attributes || {};
  const card = document.querySelector(`[data-device="${CSS.escape(change.id)}"]`);
  if (card) renderCard(card, device);
}

function ask(question) {
  return new Promise((resolve) => {
    const dialog = $("#confirm");
    $("#confirm-text").textContent = question;
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.showModal();
  });
}

async function act(device, action, value) {
  const body = { action };
  if (value !== undefined) body.value = value;
  if (device.confirm) {
    const verb = VERBS[action] || action;
    if (!(await ask(`${verb} the ${device.name}?`))) return;
    body.confirmed = true;
  }
  let { status, data } = await api(`/api/devices/${encodeURIComponent(device.id)}`, body);
  if (status === 409 && data.needs_confirmation) {
    if (!(await ask(data.question))) return;
    ({ status, data } = await api(`/api/devices/${encodeURIComponent(device.id)}`, { ...body, confirmed: true }));
  }
  if (status === 200) updateDevice({ id: device.id, state: data.state, attributes: data.attributes });
  else live(data.error || `that did not work (${status})`);
}

async function loadSpark(id) {
  const { ok, data } = await api(`/api/sensors/${encodeURIComponent(id)}/history`);
  const card = document.querySelector(`[data-device="${CSS.escape(id)}"] .spark`);
  if (!ok || !card) return;
  const points = data.points.filter((p) => p[1] !== null);
  card.replaceChildren();
  if (points.length < 2) return;
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  const values = points.map((p) => p[1]);
  const lo = Math.min(...values), hi = Math.max(...values);
  const xy = points.map(([t, v]) => `${(((t - t0) / (t1 - t0 || 1)) * 100).toFixed(1)},${(30 - ((v - lo) / (hi - lo || 1)) * 28).toFixed(1)}`);
  card.append(svg("polyline", { points: xy.join(" "), "vector-effect": "non-scaling-stroke" }));
  const title = svg("title");
  title.textContent = `last 24 h: ${lo} – ${hi}`;
  card.append(title);
}

// -- interactions -----------------------------------------------------------------------------
async function loadInteractions() {
  const { ok, data } = await api("/api/interactions?limit=30");
  if (!ok) return;
  $("#interactions").replaceChildren();
  for (const item of data.interactions.reverse()) addInteraction(item, false);
}

function addInteraction(item, fresh) {
  const list = $("#interactions");
  const path = item.handled_by || "";
  const meta = el("div", { class: "meta" },
    el("span", { text: clock(item.ts) }),
    el("span", { class: "badge", text: item.via === "web" ? "typed" : "spoken" }),
    el("span", { class: `badge ${path}`, text: PATHS[path] || path }),
    item.intent ? el("span", { text: item.intent }) : null,
    typeof item.confidence === "number" ? el("span", { text: `confidence ${item.confidence.toFixed(2)}` }) : null);
  const actions = el("div", { class: "actions" });
  for (const a of item.actions || []) {
    actions.append(el("span", { class: a.ok ? "ok" : "fail", text: `${a.ok ? "✓" : "✗"} ${a.device} ${a.action.replace("_", " ")}${a.value !== null && a.value !== undefined ? " " + a.value : ""}` }));
  }
  const entry = el("li", { class: "interaction", "data-fresh": fresh ? "true" : null },
    meta, el("div", { class: "heard", text: item.text || "" }), el("div", { class: "reply", text: item.reply || "" }),
    actions.childElementCount ? actions : null, timingBar(item.timings_ms || {}));
  list.prepend(entry);
  while (list.childElementCount > 50) list.lastElementChild.remove();
}

const SCALE_MS = 3000;
function timingBar(t) {
  // Stages one after the other from the end of speech: how long the end took to be sure of,
  // the wait for the transcript, the brain (up to the reply's last sentence queued).
  const segments = [["endpoint", t.end_of_speech_ms], ["stt", t.stt_wait_ms], ["brain", t.brain_ms ?? t.total]]
    .filter(([, v]) => typeof v === "number");
  const total = segments.reduce((sum, [, v]) => sum + v, 0);
  const scale = Math.max(SCALE_MS, total);
  const bar = el("div", { class: "timing-bar", title: "end of speech → transcript → brain" });
  for (const [name, value] of segments) {
    bar.append(el("span", { class: `seg ${name}`, css: { width: `${((value / scale) * 100).toFixed(2)}%` }, "data-ms": Math.round(value) }));
  }
  const marks = [["action", t.action_lag_ms], ["first audio", t.first_audio_lag_ms]].filter(([, v]) => typeof v === "number");
  for (const [name, value] of marks) {
    bar.append(el("span", { class: "mark", title: `${name} ${ms(value)}`, css: { left: `${Math.min(99, (value / scale) * 100).toFixed(2)}%` } }));
  }
  const words = segments.map(([name, v]) => `${name} ${ms(v)}`).concat(marks.map(([name, v]) => `→ ${name} ${ms(v)}`));
  return el("div", { class: "timing" }, bar, el("div", { class: "timing-text", text: words.join(" · ") }));
}

// -- latency chart ----------------------------------------------------------------------------
async function loadLatency() {
  const { ok, data } = await api("/api/latency");
  if (!ok) return;
  const box = $("#latency");
  box.replaceChildren();
  const hours = data.hours;
  const values = hours.flatMap((h) => ["action", "first_audio"].flatMap((k) => (h[k] ? [h[k].p95] : [])));
  if (!values.length) {
    box.append(el("p", { class: "reply", text: "No timed commands in the last day (timings are measured when audio runs in real time)." }));
    return;
  }
  const top = Math.max(...values) * 1.1;
  const W = 300, H = 120, L = 34, B = 16;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}` });
  const x = (hour) => L + ((hour + 24) / 24) * (W - L - 4);
  const y = (v) => H - B - (v / top) * (H - B - 6);
  for (const v of [0, top / 2, top]) {
    const label = svg("text", { x: 2, y: y(v) + 3 });
    label.textContent = ms(v);
    chart.append(label, svg("line", { x1: L, x2: W - 4, y1: y(v), y2: y(v), stroke: "currentColor", "stroke-opacity": 0.15 }));
  }
  for (const [hour, text] of [[-24, "-24 h"], [-12, "-12 h"], [-1, "now"]]) {
    const label = svg("text", { x: x(hour) - 8, y: H - 3 });
    label.textContent = text;
    chart.append(label);
  }
  const series = [["action", "line-a", "end → action"], ["first_audio", "line-b", "end → first audio"]];
  for (const [key, cls] of series) {
    for (const stat of ["median", "p95"]) {
      const hit = hours.filter((h) => h[key]);
      const pts = hit.map((h) => `${x(h.hour).toFixed(1)},${y(h[key][stat]).toFixed(1)}`);
      if (pts.length > 1) chart.append(svg("polyline", { class: `${cls} ${stat === "p95" ? "p95" : ""}`, points: pts.join(" ") }));
      for (const h of hit) {
        const dot = svg("circle", { class: `dot ${cls}`, cx: x(h.hour).toFixed(1), cy: y(h[key][stat]).toFixed(1), r: stat === "p95" ? 1.8 : 2.6 });
        const title = svg("title");
        title.textContent = `${stat} ${ms(h[key][stat])} (${h[key].n} commands)`;
        dot.append(title);
        chart.append(dot);
      }
    }
  }
  box.append(chart, el("p", { class: "timing-text", text: "solid: median, dashed: 95th percentile; blue: end of command → action, orange: → first audio" }));
}

// -- timers and alarms ------------------------------------------------------------------------
async function loadReminders() {
  const { ok, data } = await api("/api/reminders");
  if (!ok) return;
  reminders = { timers: data.timers || [], alarms: data.alarms || [], offset: Date.now() / 1000 - data.now, hasAlarms: data.alarms !== null };
  renderReminders();
}

function renderReminders() {
  const list = $("#reminders");
  list.replaceChildren();
  const all = [...reminders.timers, ...reminders.alarms];
  if (!all.length) list.append(el("li", { class: "reply", text: reminders.hasAlarms ? "No timers or alarms." : "No timers." }));
  const now = Date.now() / 1000 - reminders.offset;
  for (const r of all) {
    const left = r.due_ts === null ? r.remaining_s : Math.max(0, r.due_ts - now);
    const status = r.ringing ? "ringing" : r.due_ts === null ? `paused, ${duration(left)} left` : r.kind === "alarm" ? `at ${clock(r.due_ts)}` : `${duration(left)} left`;
    list.append(el("li", { class: "row", "data-reminder": r.id },
      el("span", { text: `${r.label}: ${status}` }),
      el("button", { type: "button", text: "Cancel", onclick: () => cancelReminder(r.id) })));
  }
  clearInterval(ticker);
  ticker = all.some((r) => r.due_ts !== null && !r.ringing) ? setInterval(renderReminders, 1000) : null;
}

function duration(seconds) {
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${s % 60} s` : `${s % 60} s`;
}

async function cancelReminder(id) {
  const { ok, data } = await api("/api/reminders/cancel", { id });
  if (!ok) live(data.error || "could not cancel");
  loadReminders();
}

// -- false wakes ------------------------------------------------------------------------------
const OUTCOMES = { rejected: "turned away", timeout: "nobody spoke", unanswered: "led nowhere" };
async function loadWakes() {
  const { ok, data } = await api("/api/wakes?limit=20");
  if (!ok) return;
  const body = $("#wakes tbody");
  body.replaceChildren();
  for (const w of data.wakes) {
    const score = [w.probability, w.noisy].filter((v) => typeof v === "number").map((v) => v.toFixed(2)).join(" / ");
    body.append(el("tr", {}, el("td", { text: clock(w.ts) }), el("td", { text: score }),
      el("td", { text: (OUTCOMES[w.outcome] || w.outcome) + (w.how ? ` (${w.how})` : "") }), el("td", { text: w.heard || "" })));
  }
  if (!data.wakes.length) body.append(el("tr", {}, el("td", { colspan: 4, text: "None." })));
}

// -- checks -----------------------------------------------------------------------------------
async function loadChecks(rerun) {
  $("#run-checks").disabled = true;
  const { ok, data } = rerun ? await api("/api/checks", {}) : await api("/api/checks");
  $("#run-checks").disabled = false;
  if (!ok) return;
  const list = $("#checks");
  list.replaceChildren();
  for (const c of data.checks) {
    list.append(el("li", { class: "check" },
      el("div", {}, el("strong", { class: c.ok ? "ok" : "fail", text: c.ok ? "ok " : "problem " }), el("span", { text: `${c.name}: ${c.detail}` })),
      c.fix && !c.ok ? el("div", { class: "fix", text: `fix: ${c.fix}` }) : null));
  }
}

// -- forms ------------------------------------------------------------------------------------
function wire() {
  $("#login-form").addEventListener("submit", submitLogin);
  $("#logout").addEventListener("click", logout);
  $("#mute").addEventListener("click", () => api("/api/mute", { muted: $("#mute").getAttribute("aria-pressed") !== "true" }));
  $("#volume").addEventListener("change", (e) => api("/api/volume", { percent: Number(e.target.value) }));
  $("#ask-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("#ask-text").value.trim();
    if (!text) return;
    $("#ask-reply").textContent = "…";
    const { ok, data } = await api("/api/ask", { text });
    $("#ask-reply").textContent = ok ? data.reply || "(nothing to say)" : data.error || "that did not work";
    if (ok) $("#ask-text").value = "";
  });
  $("#say-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("#say-text").value.trim();
    if (text) await api("/api/say", { text });
  });
  $("#speaker-test").addEventListener("click", () => api("/api/speaker-test", {}));
  $("#run-checks").addEventListener("click", () => loadChecks(true));
  $("#forget").addEventListener("click", async () => {
    if (await ask("Forget every interaction, wake word and reading kept on the appliance?")) await api("/api/forget", {});
  });
}

wire();
boot();
