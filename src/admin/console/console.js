// The ssa console: polls the admin API's read-only routes every second and
// calls its mutating routes with the admin token, which is kept only in this
// tab's sessionStorage and sent as an `Authorization: Bearer` header (never in
// a URL, never shown). Every value is written with textContent.
"use strict";

(() => {
  const TOKEN_KEY = "ssa.adminToken";
  const POLL_MS = 1000;
  const HISTORY_SECONDS = 300;
  const CAUSES = ["killed", "connection", "restore"];

  const $ = (id) => document.getElementById(id);
  const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

  /** Whether the server has a token configured (null until /config answers). */
  let serverHasToken = null;
  let chart = null;
  let chaosRunning = false;
  let pollTimer = null;

  const token = () => sessionStorage.getItem(TOKEN_KEY);
  const canMutate = () => serverHasToken === true && Boolean(token());

  function text(el, value) {
    const s = String(value);
    if (el.textContent !== s) el.textContent = s;
  }

  function el(tag, attrs = {}, content = "") {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (content !== "") e.textContent = content;
    return e;
  }

  // ---------------------------------------------------------------- access

  function renderAccess() {
    const access = $("access");
    const form = $("token-form");
    const forget = $("token-forget");
    let state;
    let message;
    if (serverHasToken === null) {
      state = "unknown";
      message = "Checking access…";
    } else if (!serverHasToken) {
      state = "no-token";
      message =
        "Read-only: this server has no admin token configured (start it with SSA_ADMIN_TOKEN), " +
        "so it refuses every change and the buttons are disabled.";
    } else if (!token()) {
      state = "read-only";
      message =
        "Read-only: the buttons need the admin token. Enter it above once; it is kept only in " +
        "this tab and sent as a Bearer header.";
    } else {
      state = "unlocked";
      message = "Controls unlocked: the token is kept only in this tab and sent as a Bearer header.";
    }
    access.dataset.access = state;
    text(access, message);
    form.hidden = serverHasToken !== true || Boolean(token());
    forget.hidden = !token();
    updateButtons();
  }

  /** Enables each mutation button when a token is there and its action applies now. */
  function updateButtons() {
    const allowed = canMutate();
    const why = allowed ? "" : "needs the admin token";
    for (const b of document.querySelectorAll("button.mutation")) {
      const applies = b.dataset.applies !== "false";
      b.disabled = !(allowed && applies);
      b.title = why;
    }
  }

  function notice(kind, message) {
    const n = $("notice");
    n.dataset.kind = kind;
    n.hidden = false;
    text(n, message);
  }

  // ---------------------------------------------------------------- calls

  async function getJson(path) {
    const r = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!r.ok) throw new Error(`${path} answered ${r.status}`);
    return r.json();
  }

  /** A mutating call with the token; reports the outcome in the notice banner. */
  async function mutate(method, path, body, what, describe) {
    const t = token();
    if (!t || serverHasToken !== true) {
      notice("error", `${what}: the admin token is needed`);
      return;
    }
    const headers = { Authorization: `Bearer ${t}`, Accept: "application/json" };
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, init);
    } catch (e) {
      notice("error", `${what}: ${e.message}`);
      return;
    }
    let payload = null;
    try {
      payload = await r.json();
    } catch (_) {
      payload = null;
    }
    if (r.ok) {
      notice("ok", `${what}: ${describe(payload)}`);
    } else {
      const err = (payload && payload.error) || { code: String(r.status), message: r.statusText };
      if (r.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        notice(
          "error",
          `401 ${err.code}: ${err.message}. The token was not accepted and has been forgotten; enter it again.`,
        );
      } else {
        notice("error", `${what} refused: ${r.status} ${err.code}: ${err.message}`);
      }
      renderAccess();
    }
    pollNow();
  }

  // ---------------------------------------------------------------- partitions

  function partitionRow(id) {
    const tr = el("tr", { "data-partition": id });
    tr.append(el("td", { "data-field": "id" }, id));
    const state = el("td", { "data-field": "state" });
    state.append(el("span", { class: "state" }));
    tr.append(state);
    for (const f of ["in", "committed", "committed-offset", "lag", "uncommitted", "backpressure", "restarts"]) {
      tr.append(el("td", { class: "num", "data-field": f }));
    }
    for (const c of CAUSES) tr.append(el("td", { class: "num", "data-field": `restarts-${c}` }));
    const actions = el("td", { class: "actions" });
    const kill = el("button", { type: "button", class: "mutation danger", "data-action": "kill" }, "Kill");
    const stop = el("button", { type: "button", class: "mutation", "data-action": "stop" }, "Stop");
    const start = el("button", { type: "button", class: "mutation", "data-action": "start" }, "Start");
    const reset = el("button", { type: "button", class: "mutation danger", "data-action": "reset" }, "Reset");
    const path = `/partitions/${encodeURIComponent(id)}`;
    kill.addEventListener("click", () =>
      mutate("POST", `${path}/kill`, undefined, `kill ${id}`, (p) => p.message));
    stop.addEventListener("click", () =>
      mutate("POST", `${path}/stop`, undefined, `stop ${id}`, (p) => `partition ${p.id} is ${p.state}`));
    start.addEventListener("click", () =>
      mutate("POST", `${path}/start`, undefined, `start ${id}`, (p) => `partition ${p.id} is ${p.state}`));
    reset.addEventListener("click", () => window.confirm(`Reset ${id}? It starts over from offset 0.`)
      && mutate("POST", `${path}/reset`, undefined, `reset ${id}`, (p) => `partition ${p.id} is ${p.state}`));
    actions.append(kill, stop, start, reset);
    tr.append(actions);
    return tr;
  }

  function renderPartitions(list) {
    const body = $("partitions").tBodies[0];
    const seen = new Set();
    for (const p of list) {
      seen.add(p.id);
      let tr = body.querySelector(`tr[data-partition="${CSS.escape(p.id)}"]`);
      if (!tr) {
        tr = partitionRow(p.id);
        body.append(tr);
      }
      const cell = (f) => tr.querySelector(`[data-field="${f}"]`);
      const badge = cell("state").firstChild;
      text(badge, p.state);
      badge.className = `state state-${p.state}`;
      badge.title = p.problem ?? "";
      text(cell("in"), integer.format(p.events_per_second));
      text(cell("committed"), integer.format(p.committed_per_second));
      text(cell("committed-offset"), integer.format(p.committed_offset));
      text(cell("lag"), p.lag === null ? "–" : integer.format(p.lag));
      text(cell("uncommitted"), p.uncommitted_epochs);
      text(cell("backpressure"), decimal.format(p.backpressure_seconds));
      text(cell("restarts"), p.restarts);
      for (const c of CAUSES) text(cell(`restarts-${c}`), p.restarts_by_cause[c] ?? 0);
      tr.querySelector('[data-action="stop"]').dataset.applies = String(p.state !== "stopped");
      tr.querySelector('[data-action="start"]').dataset.applies = String(p.state === "stopped");
      tr.querySelector('[data-action="reset"]').dataset.applies = String(p.state === "stopped" || p.state === "corrupt");
    }
    for (const tr of [...body.rows]) {
      if (!seen.has(tr.dataset.partition)) tr.remove();
    }
    const sum = (f) => list.reduce((a, p) => a + f(p), 0);
    text($("sum-in"), integer.format(sum((p) => p.events_per_second)));
    text($("sum-committed"), integer.format(sum((p) => p.committed_per_second)));
    text($("sum-committed-offset"), integer.format(sum((p) => p.committed_offset)));
    const known = list.filter((p) => p.lag !== null);
    text($("sum-lag"), known.length ? integer.format(sum((p) => p.lag ?? 0)) : "–");
    text($("sum-inflight"), sum((p) => p.uncommitted_epochs));
    const pressed = list.filter((p) => p.state === "backpressured").length;
    text($("sum-backpressure"), `${pressed} / ${list.length}`);
  }

  // ---------------------------------------------------------------- actors and chaos

  function renderActors(actors) {
    const body = $("actor-rows");
    for (const a of actors.actors) {
      let tr = body.querySelector(`tr[data-actor="${CSS.escape(a.actor)}"]`);
      if (!tr) {
        tr = el("tr", { "data-actor": a.actor });
        tr.append(el("td", {}, a.actor === "partition" ? "partitions (all)" : a.actor));
        tr.append(el("td", { class: "num", "data-field": "restarts" }));
        for (const c of CAUSES) tr.append(el("td", { class: "num", "data-field": `restarts-${c}` }));
        body.append(tr);
      }
      text(tr.querySelector('[data-field="restarts"]'), a.restarts);
      for (const c of CAUSES) {
        const n = a.restarts_by_cause[c];
        text(tr.querySelector(`[data-field="restarts-${c}"]`), n === undefined ? "–" : n);
      }
    }
    return actors.actors.reduce((a, x) => a + x.restarts, 0);
  }

  function renderChaos(c) {
    chaosRunning = c.running;
    const kills = Object.entries(c.kills).map(([k, n]) => `${k} ${n}`).join(", ");
    let s;
    if (c.running) {
      s = `running: a kill every ${integer.format(c.interval_ms)} ms; kills: ${kills}`;
    } else if (Object.values(c.kills).some((n) => n > 0)) {
      s = `stopped; last run's kills: ${kills}`;
    } else {
      s = "stopped";
    }
    if (c.last_kill) s += `; last: ${c.last_kill}`;
    const status = $("chaos-status");
    status.dataset.running = String(c.running);
    text(status, s);
    $("chaos-start").dataset.applies = String(!c.running);
    $("chaos-stop").dataset.applies = String(c.running);
  }

  // ---------------------------------------------------------------- config, keys, verify

  function renderConfig(config) {
    serverHasToken = Boolean(config.admin && config.admin.token);
    const p = config.processor || {};
    for (const k of ["flush_interval", "max_epoch_events", "max_inflight_epochs", "sink_concurrency"]) {
      const v = p[k];
      text($(`tune-${k}`), typeof v === "number" ? integer.format(v) : v ?? "–");
    }
  }

  function renderTop(top) {
    text($("sum-keys"), integer.format(top.keys));
    const body = $("top-rows");
    const rows = top.top.map((r, i) => {
      const tr = el("tr");
      tr.append(el("td", {}, String(i + 1)));
      const f = el("td", { title: r.franchise_id }, r.franchise_id.slice(0, 8));
      tr.append(f, el("td", {}, r.event_name));
      tr.append(el("td", { class: "num" }, integer.format(r.count)));
      tr.append(el("td", { class: "num" }, r.sum === null || r.sum === undefined ? "–" : integer.format(r.sum)));
      return tr;
    });
    body.replaceChildren(...rows);
  }

  function renderVerify(v) {
    const badge = $("verify-status");
    text(badge, v.status === "differs" ? "NOT EXACT" : v.status.toUpperCase());
    badge.className = `badge ${v.status}`;
    text($("verify-message"), v.message);
    text($("verify-cycles"), v.cycles ?? "–");
    text(
      $("verify-events"),
      v.expected_events === null ? "–" : `${integer.format(v.committed_events)} / ${integer.format(v.expected_events)}`,
    );
    text(
      $("verify-keys"),
      v.expected_keys === null ? "–" : `${integer.format(v.matching_keys)} / ${integer.format(v.expected_keys)}`,
    );
    $("verify-differences").replaceChildren(...v.differences.map((d) => el("li", {}, d)));
  }

  // ---------------------------------------------------------------- chart

  function chartWidth() {
    return Math.max(300, $("chart").clientWidth);
  }

  function renderChart(history) {
    const xs = [];
    const ins = [];
    const outs = [];
    for (const s of history.samples) {
      xs.push(s.at_ms / 1000);
      ins.push(s.in_per_second);
      outs.push(s.committed_per_second);
    }
    const data = [xs, ins, outs];
    if (!chart) {
      const opts = {
        width: chartWidth(),
        height: 260,
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(10, max * 1.1)] } },
        axes: [{}, { size: 70, values: (u, ticks) => ticks.map((t) => integer.format(t)) }],
        series: [
          {},
          { label: "in /s", stroke: "#1f6feb", width: 2, points: { show: false }, value: (u, v) => (v === null ? "–" : integer.format(v)) },
          { label: "committed /s", stroke: "#1a7f37", width: 2, points: { show: false }, value: (u, v) => (v === null ? "–" : integer.format(v)) },
        ],
      };
      chart = new uPlot(opts, data, $("chart"));
      window.addEventListener("resize", () => chart.setSize({ width: chartWidth(), height: 260 }));
    } else {
      chart.setData(data);
    }
  }

  // ---------------------------------------------------------------- polling

  async function poll() {
    pollTimer = null;
    const health = $("health");
    try {
      const [h, parts, history, actors, chaos, config, top, verify] = await Promise.all([
        getJson("/health"),
        getJson("/partitions"),
        getJson(`/throughput?seconds=${HISTORY_SECONDS}`),
        getJson("/actors"),
        getJson("/chaos"),
        getJson("/config"),
        getJson("/keys/top?limit=10"),
        getJson("/verify"),
      ]);
      text(health, `v${h.version} · up ${integer.format(h.uptime_seconds)} s`);
      health.className = "pill ok";
      renderConfig(config);
      renderPartitions(parts.partitions);
      const actorRestarts = renderActors(actors);
      text($("sum-restarts"), integer.format(actorRestarts));
      renderChaos(chaos);
      renderTop(top);
      renderVerify(verify);
      renderChart(history);
      renderAccess();
    } catch (e) {
      text(health, `disconnected: ${e.message}`);
      health.className = "pill bad";
    } finally {
      if (pollTimer === null) pollTimer = setTimeout(poll, POLL_MS);
    }
  }

  function pollNow() {
    if (pollTimer !== null) {
      clearTimeout(pollTimer);
      poll();
    }
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    $("token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const input = $("token-input");
      const value = input.value.trim();
      input.value = "";
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      $("notice").hidden = true;
      renderAccess();
    });
    $("token-forget").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      renderAccess();
    });
    $("chaos-start").addEventListener("click", () => {
      const targets = [...document.querySelectorAll(".chaos-target:checked")].map((c) => c.value);
      const interval = Number($("chaos-interval").value);
      mutate("POST", "/chaos", { interval_ms: interval, targets }, "start chaos", (c) =>
        `running, a kill every ${c.interval_ms} ms`);
    });
    for (const actor of ["sink", "checkpoint"]) {
      $(`kill-${actor}`).addEventListener("click", () =>
        mutate("POST", `/actors/${actor}/kill`, undefined, `kill ${actor}`, (p) => p.message));
    }
    $("chaos-stop").addEventListener("click", () =>
      mutate("DELETE", "/chaos", undefined, "stop chaos", (c) =>
        `stopped; kills: ${Object.entries(c.kills).map(([k, n]) => `${k} ${n}`).join(", ")}`));
    $("flush-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const value = $("flush-input").value.trim();
      if (!value) return;
      mutate("PATCH", "/config", { flush_interval: value }, "change flush_interval", (t) =>
        `flush_interval is ${t.flush_interval}`);
    });
    renderAccess();
    poll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
