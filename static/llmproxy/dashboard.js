// The dashboard: cards, requests in flight (ticking), and the log with filters and pages.
(function () {
  "use strict";
  const { el, ms, number, modelLabel, time, requestLink, getJSON, initial } = window.llmproxy;
  const RANGES = { "1h": 3600e3, "6h": 6 * 3600e3, "24h": 24 * 3600e3, "7d": 7 * 86400e3,
                   "30d": 30 * 86400e3, "all": null };
  const PAGE = 50;
  const state = { range: "24h", filters: {}, cursors: [null], page: 0, inflight: new Map() };
  const data = initial();

  function card(id, text) { document.getElementById(id).textContent = text; }

  function renderStats(stats) {
    const total = stats.total;
    card("card-requests", number(total.requests));
    card("card-errors", number(total.errors) + (total.requests
      ? " (" + (100 * total.error_rate).toFixed(1) + "%)" : ""));
    card("card-tokens", number(total.prompt_tokens) + " / " + number(total.completion_tokens));
    card("card-latency", ms(total.median_duration_ms));
    card("card-tps", total.tokens_per_second ? total.tokens_per_second.toFixed(1) : "–");
    card("card-inflight", number(state.inflight.size));
  }

  function renderInflight() {
    const body = document.querySelector("#inflight tbody");
    body.replaceChildren();
    const now = Date.now();
    for (const row of state.inflight.values()) {
      const tr = el("tr");
      tr.dataset.id = row.id;
      const started = el("td");
      started.append(requestLink(row, time(row.started_at)));
      tr.append(started, el("td", ms(now - Date.parse(row.started_at)), "elapsed"),
                el("td", row.service), el("td", modelLabel(row)), el("td", row.upstream),
                el("td", row.client), el("td", row.workflow));
      body.append(tr);
    }
    document.getElementById("inflight-empty").hidden = state.inflight.size > 0;
    card("card-inflight", number(state.inflight.size));
  }

  function renderUpstreams(rows) {
    const body = document.querySelector("#upstreams tbody");
    body.replaceChildren(...rows.map(function (row) {
      const tr = el("tr", undefined, "health-" + row.status);
      const status = row.status === "cooldown"
        ? "cooldown (" + Math.ceil(row.cooldown_seconds) + " s)" : row.status;
      tr.append(el("td", row.upstream), el("td", row.base_url), el("td", status),
                el("td", number(row.inflight)), el("td", number(row.failures)),
                el("td", row.last_error || "–"));
      return tr;
    }));
  }

  function logRow(row) {
    const tr = el("tr", undefined, "state-" + row.state);
    tr.dataset.id = row.id;
    const started = el("td");
    started.append(requestLink(row, time(row.started_at)));
    const tokens = row.prompt_tokens === null && row.completion_tokens === null ? "–"
      : (row.tokens_estimated ? "≈" : "") + number(row.prompt_tokens) + " / " +
        number(row.completion_tokens);
    const service = row.kind ? row.service + " · " + row.kind : row.service;
    tr.append(started, el("td", row.state), el("td", row.status), el("td", service),
              el("td", modelLabel(row)), el("td", row.upstream), el("td", row.workflow),
              el("td", row.client), el("td", ms(row.duration_ms)), el("td", ms(row.ttft_ms)),
              el("td", tokens));
    return tr;
  }

  function renderLog(page) {
    const body = document.querySelector("#log tbody");
    body.replaceChildren(...page.data.map(logRow));
    state.next = page.next;
    document.getElementById("older").disabled = !page.next;
    document.getElementById("newer").disabled = state.page === 0;
  }

  function sinceParam() {
    const span = RANGES[state.range];
    return span === null ? "" : new Date(Date.now() - span).toISOString();
  }

  function logURL(before) {
    const params = new URLSearchParams({ limit: PAGE });
    for (const [key, value] of Object.entries(state.filters)) if (value) params.set(key, value);
    const since = sinceParam();
    if (since) params.set("since", since);
    if (before) params.set("before", before);
    return "/api/logs?" + params.toString();
  }

  async function loadLog() {
    renderLog(await getJSON(logURL(state.cursors[state.page])));
  }

  let statsTimer = null;
  function refreshStatsSoon() {
    if (statsTimer) return;
    statsTimer = setTimeout(async function () {
      statsTimer = null;
      renderStats(await getJSON("/api/stats?range=" + state.range));
      renderUpstreams((await getJSON("/api/upstreams")).data);
    }, 2000);
  }

  function matchesFilters(row) {
    for (const [key, value] of Object.entries(state.filters)) {
      if (!value) continue;
      if (key === "model" && row.model_in !== value && row.model_out !== value) return false;
      if (key === "status" && String(row.status) !== value) return false;
      if (!["model", "status"].includes(key) && String(row[key]) !== value) return false;
    }
    return true;
  }

  document.addEventListener("llmproxy:requests", function (event) {
    for (const { event: kind, request: row } of event.detail) {
      if (kind === "started") {
        state.inflight.set(row.id, row);
      } else {
        state.inflight.delete(row.id);
        if (state.page === 0 && matchesFilters(row)) {
          const body = document.querySelector("#log tbody");
          body.querySelector('tr[data-id="' + CSS.escape(row.id) + '"]')?.remove();
          body.prepend(logRow(row));
          while (body.children.length > PAGE) body.lastElementChild.remove();
        }
        refreshStatsSoon();
      }
    }
    renderInflight();
  });

  document.addEventListener("llmproxy:connected", async function () {
    // After a drop, catch up on what happened meanwhile (one request, not a poll).
    const found = await getJSON("/api/inflight");
    state.inflight = new Map(found.data.map((row) => [row.id, row]));
    renderInflight();
    if (state.page === 0) loadLog();
  });

  document.getElementById("filters").addEventListener("submit", function (event) {
    event.preventDefault();
    state.filters = Object.fromEntries(new FormData(event.target).entries());
    state.cursors = [null];
    state.page = 0;
    loadLog();
  });
  document.getElementById("filters").addEventListener("reset", function () {
    state.filters = {};
    state.cursors = [null];
    state.page = 0;
    setTimeout(loadLog);
  });
  document.getElementById("older").addEventListener("click", function () {
    state.cursors[state.page + 1] = state.next;
    state.page += 1;
    loadLog();
  });
  document.getElementById("newer").addEventListener("click", function () {
    state.page = Math.max(0, state.page - 1);
    loadLog();
  });
  for (const button of document.querySelectorAll("[data-range]")) {
    button.addEventListener("click", async function () {
      state.range = button.dataset.range;
      for (const other of document.querySelectorAll("[data-range]")) {
        other.classList.toggle("active", other === button);
      }
      state.cursors = [null];
      state.page = 0;
      renderStats(await getJSON("/api/stats?range=" + state.range));
      loadLog();
    });
  }

  for (const row of data.inflight) state.inflight.set(String(row.id), row);
  renderStats(data.stats);
  renderUpstreams(data.upstreams);
  renderInflight();
  renderLog(data.logs);
  setInterval(function () {
    const now = Date.now();
    for (const cell of document.querySelectorAll("#inflight tbody tr")) {
      const row = state.inflight.get(cell.dataset.id);
      if (row) cell.querySelector(".elapsed").textContent = ms(now - Date.parse(row.started_at));
    }
  }, 1000);
})();
