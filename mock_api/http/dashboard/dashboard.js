// mock_api's dashboard: polls the control API next to this page (relative URLs) and renders every value
// as text (textContent and Text nodes only, never markup built from data).
"use strict";
(() => {
  const POLL_MS = 1000;
  const REQUESTS_SHOWN = 200; // the newest journal entries the page holds (GET ./requests?tail=N)
  const TASKS_SHOWN = 100; // the newest tasks (GET ./tasks?tail=N)
  const TOKEN_KEY = "mock_api.control_token";
  const $ = (id) => document.getElementById(id);
  const state = {
    latest: [], shown: [], userPaused: false, violationsBySeq: new Map(), scenarioNames: "",
    needToken: false, drawn: new Map(), timer: 0, busy: false, again: false, cluster: true,
  };

  // An element with text children; props are fixed names from this file, values may be data.
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (name === "class") node.className = value;
      else if (name === "on") for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function say(text) { $("status").textContent = text; }

  async function call(path, options = {}) {
    const headers = Object.assign({}, options.headers);
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers["X-Mock-Control-Token"] = token;
    const response = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
    if (response.status === 401) {
      askForToken();
      throw new Error("This mock_api needs its control token.");
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Error((body && body.detail) || `HTTP ${response.status}`);
    return { body, headers: response.headers };
  }

  function send(path, body) {
    const options = { method: path === "./scenario" ? "PUT" : "POST" };
    if (body !== undefined) Object.assign(options, { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    return call(path, options);
  }

  function askForToken() {
    state.needToken = true;
    const form = $("token-form");
    if (form.hidden) { form.hidden = false; $("token-input").focus(); }
  }

  // Keep the nodes of items already drawn (focus and open rows survive a poll); add new ones, drop gone ones.
  function reconcile(container, items, keyOf, build) {
    const old = state.drawn.get(container) || new Map();
    const now = new Map();
    for (const item of items) {
      const key = keyOf(item);
      if (!now.has(key)) now.set(key, old.get(key) || build(item));
    }
    for (const [key, node] of old) if (!now.has(key)) node.remove();
    let index = 0;
    for (const node of now.values()) {
      if (container.children[index] !== node) container.insertBefore(node, container.children[index] || null);
      index += 1;
    }
    state.drawn.set(container, now);
  }

  // ---- Requests ------------------------------------------------------------------------------
  const keyOfEntry = (entry) => JSON.stringify([entry, state.violationsBySeq.get(entry.seq) || []]);
  const reading = () => document.querySelector("#request-list details[open]") !== null;
  const paused = () => state.userPaused || reading();

  function statusText(entry) { return entry.status === null ? "no reply" : String(entry.status); }

  function matches(entry) {
    const method = $("filter-method").value;
    const path = $("filter-path").value.trim().toLowerCase();
    const status = $("filter-status").value;
    if (method && entry.method !== method) return false;
    if (path && !entry.path.toLowerCase().includes(path)) return false;
    if (status === "none") return entry.status === null;
    return !status || (entry.status !== null && String(entry.status)[0] === status);
  }

  function facts(rows) {
    return el("dl", { class: "facts" }, ...rows.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
  }

  function requestDetail(entry) {
    const caused = state.violationsBySeq.get(entry.seq) || [];
    const query = Object.entries(entry.query).flatMap(([name, values]) => values.map((value) => [name, value]));
    return el("div", { class: "detail" },
      facts([["Time", entry.time], ["Status", statusText(entry)], ["Scenario", entry.scenario ?? "none"],
        ["Fault", entry.fault ?? "none"], ["Duration", `${entry.duration_ms} ms`]]),
      el("h3", {}, "Headers"), facts(Object.entries(entry.headers)),
      el("h3", {}, "Query"), query.length ? facts(query) : el("p", {}, "none"),
      el("h3", {}, "Body"), entry.body === null ? el("p", {}, "none") : el("pre", { class: "body" }, entry.body),
      el("h3", {}, "Violations"),
      caused.length ? el("ul", {}, ...caused.map((v) => el("li", {}, `${v.kind}: ${v.message}`))) : el("p", {}, "none"));
  }

  function requestItem(entry) {
    const kind = entry.status === null ? "none" : String(entry.status)[0];
    const summary = el("summary", {},
      el("span", { class: "seq" }, `#${entry.seq}`), el("span", { class: "method" }, entry.method),
      el("span", { class: "path" }, entry.path), el("span", { class: `code c${kind}` }, statusText(entry)),
      el("span", { class: "ms" }, `${entry.duration_ms} ms`));
    return el("li", { "data-seq": String(entry.seq) },
      el("details", { on: { toggle: drawRequests } }, summary, requestDetail(entry)));
  }

  function drawRequests() {
    if (!paused()) state.shown = state.latest;
    const visible = state.shown.filter(matches).reverse();
    reconcile($("request-list"), visible, keyOfEntry, requestItem);
    $("requests-count").textContent = `${visible.length} of the ${state.shown.length} newest requests shown`;
    const held = new Set(state.shown.map(keyOfEntry));
    const waiting = state.latest.filter((entry) => !held.has(keyOfEntry(entry))).length;
    $("live").textContent = paused() ? `Paused: ${waiting} new` : "Live";
  }

  // ---- Tasks, scenario, clock ------------------------------------------------------------------
  function outcome(task) {
    if (task.status !== "complete") return "pending";
    return task.failure_reason === null ? `created ${task.path}` : "failed";
  }

  function taskRow(task) {
    const link = el("a", { href: "#requests", "aria-label": `Requests of task ${task.id}`,
      on: { click: () => { $("filter-path").value = task.id; drawRequests(); } } }, "requests");
    return el("tr", {}, el("td", { class: "id" }, task.id), el("td", {}, task.status), el("td", {}, task.request_date),
      el("td", {}, String(Number(task.due_in_seconds.toFixed(1)))), el("td", {}, outcome(task)), el("td", {}, task.failure_reason ?? ""),
      el("td", {}, link));
  }

  function drawScenario(active, all) {
    $("scenario-name").textContent = active.name;
    $("scenario-description").textContent = active.description || "";
    $("scenario-source").textContent = active.source ? `(${active.source})` : "(built-in)";
    const select = $("scenario-select");
    const names = JSON.stringify(all.map((s) => s.name));
    if (names !== state.scenarioNames) {
      select.replaceChildren(...all.map((s) => el("option", { value: s.name }, s.name)));
      state.scenarioNames = names;
      delete select.dataset.touched;
    }
    if (!select.dataset.touched) select.value = active.name;
  }

  function drawClock(clock) {
    $("clock-now").textContent = clock.now;
    $("clock-state").textContent = clock.frozen ? "frozen" : "running";
  }

  // ---- Coverage and violations -----------------------------------------------------------------
  const list = (values) => (values.length ? values.join(", ") : "none");

  function drawCoverage(report) {
    const rows = report.operations.map((op) => el("tr", {}, el("td", {}, op.method), el("td", {}, op.path),
      el("td", {}, String(op.calls)),
      el("td", {}, list(Object.entries(op.statuses).map(([code, n]) => `${code} ×${n}`))),
      el("td", {}, list(op.not_exercised))));
    const head = el("tr", {}, ...["Method", "Path", "Calls", "Statuses seen", "Documented, never seen"]
      .map((name) => el("th", { scope: "col" }, name)));
    const filters = Object.entries(report.filters).map(([path, f]) => el("div", {}, el("h3", {}, `Filters of ${path}`),
      facts([["Used", list(f.used)], ["Not used", list(f.not_used)], ["Operators", list(f.operators)],
        ["Paging", list(f.paging)]])));
    $("coverage-report").replaceChildren(
      el("p", {}, `${report.requests} requests observed.`),
      el("div", { class: "wrap" }, el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows))),
      el("h3", {}, "Never exercised"), el("p", {}, list(report.not_exercised)),
      ...filters,
      el("h3", {}, "Scopes"), facts(Object.entries(report.scopes).map(([name, values]) => [name, list(values)])),
      el("h3", {}, "Scenarios used"), el("p", {}, list(report.scenarios)),
      el("h3", {}, "Undocumented requests"), el("p", {}, list(report.undocumented)));
  }

  // Open the request a violation names: filters cleared, its row opened and focused.
  function showRequest(seq) {
    for (const id of ["filter-method", "filter-path", "filter-status"]) $(id).value = "";
    drawRequests();
    const item = [...$("request-list").children].find((li) => li.dataset.seq === String(seq));
    if (!item) { say(`Request #${seq} is no longer among the newest ${REQUESTS_SHOWN}.`); return; }
    item.querySelector("details").open = true;
    item.querySelector("summary").focus();
  }

  function violationRow(v) {
    const open = el("button", { type: "button", class: "link", "aria-label": `Show request ${v.first_seq}`,
      on: { click: () => showRequest(v.first_seq) } }, `#${v.first_seq}`);
    return el("tr", {}, el("td", {}, v.kind), el("td", {}, `${v.method} ${v.path}`), el("td", {}, v.message),
      el("td", {}, String(v.count)), el("td", {}, open));
  }

  function drawViolations(found, dropped) {
    state.violationsBySeq = new Map();
    for (const v of found) state.violationsBySeq.set(v.first_seq, [...(state.violationsBySeq.get(v.first_seq) || []), v]);
    reconcile($("violation-list"), found, (v) => JSON.stringify(v), violationRow);
    const mode = document.body.dataset.strict === "on" ? "" : "Strict mode is off (start with --strict): none are recorded. ";
    $("violations-note").textContent = `${mode}${found.length} kept, ${dropped} dropped past the limit.`;
  }

  // ---- Cluster (only behind `mock-api serve --workers`: a lone process answers ./cluster with 404) -------
  function workerRow(w) {
    const sessions = w.sessions.filter((s) => s.name !== "default" || s.requests > 0);
    return el("tr", {}, el("td", {}, String(w.port)), el("td", {}, String(w.pid)),
      el("td", { class: w.up ? "" : "down" }, w.up ? "up" : "down"), el("td", {}, String(w.restarts)),
      el("td", {}, list(sessions.map((s) => `${s.name} (${s.requests})`))));
  }

  async function loadCluster() {
    if (!state.cluster) return;
    const token = sessionStorage.getItem(TOKEN_KEY);
    const response = await fetch("./cluster", { cache: "no-store", headers: token ? { "X-Mock-Control-Token": token } : {} });
    if (response.status !== 200 && response.status !== 503) { state.cluster = response.status !== 404; return; }
    const workers = (await response.json()).workers;
    $("cluster").hidden = false;
    const down = workers.filter((w) => !w.up).length;
    $("cluster-note").textContent = `${workers.length} processes, ${down ? `${down} down` : "all up"}.`;
    reconcile($("worker-list"), workers, (w) => JSON.stringify(w), workerRow);
  }

  // ---- Polling -----------------------------------------------------------------------------------
  const drawnJson = new Map();
  function drawIfChanged(name, value, draw) {
    const text = JSON.stringify(value);
    if (drawnJson.get(name) !== text) { drawnJson.set(name, text); draw(); }
  }

  async function load() {
    const [requests, tasks, scenario, scenarios, clock, coverage, violations] = await Promise.all([
      call(`./requests?tail=${REQUESTS_SHOWN}`), call(`./tasks?tail=${TASKS_SHOWN}`), call("./scenario"),
      call("./scenarios"), call("./clock"), call("./coverage"), call("./violations"), loadCluster()]);
    drawViolations(violations.body, violations.headers.get("X-Violations-Dropped") || "0");
    state.latest = requests.body;
    drawRequests();
    reconcile($("task-list"), tasks.body.slice().reverse(), (t) => JSON.stringify(t), taskRow);
    drawScenario(scenario.body, scenarios.body);
    drawClock(clock.body);
    drawIfChanged("coverage", coverage.body, () => drawCoverage(coverage.body));
    document.body.dataset.loads = String(Number(document.body.dataset.loads || 0) + 1);
  }

  async function refresh() {
    clearTimeout(state.timer);
    if (state.busy) { state.again = true; return; }
    state.busy = true;
    try {
      if (!document.hidden && !state.needToken) await load();
    } catch (error) {
      say(error.message);
    } finally {
      state.busy = false;
    }
    if (state.again) { state.again = false; refresh(); return; }
    state.timer = setTimeout(refresh, POLL_MS);
  }

  async function act(label, path, body) {
    try {
      await send(path, body);
      say(`${label}: done.`);
    } catch (error) {
      say(`${label}: ${error.message}`);
    }
    refresh();
  }

  function wire() {
    for (const id of ["filter-method", "filter-path", "filter-status"]) $(id).addEventListener("input", drawRequests);
    $("pause").addEventListener("click", () => {
      state.userPaused = !state.userPaused;
      $("pause").setAttribute("aria-pressed", String(state.userPaused));
      $("pause").textContent = state.userPaused ? "Resume" : "Pause";
      drawRequests();
    });
    $("scenario-select").addEventListener("change", () => { $("scenario-select").dataset.touched = "1"; });
    $("scenario-switch").addEventListener("click", () => {
      const name = $("scenario-select").value;
      delete $("scenario-select").dataset.touched;
      act(`Scenario ${name}`, "./scenario", { name });
    });
    for (const button of document.querySelectorAll("[data-clock]")) {
      button.addEventListener("click", () => act(button.textContent, `./clock/${button.dataset.clock}`));
    }
    for (const button of document.querySelectorAll("[data-advance]")) {
      button.addEventListener("click", () => act(button.textContent, "./clock/advance", { seconds: Number(button.dataset.advance) }));
    }
    $("reset").addEventListener("click", () => {
      if (window.confirm("Reset the emulator to its start-up state? Tasks, writes, the journal and violations go.")) {
        act("Reset", "./reset");
      }
    });
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token-input").value);
      $("token-input").value = "";
      $("token-form").hidden = true;
      state.needToken = false;
      say("");
      refresh();
    });
    document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
    if (document.body.dataset.token === "required" && !sessionStorage.getItem(TOKEN_KEY)) askForToken();
    refresh();
  }

  wire();
})();
