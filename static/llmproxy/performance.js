// The performance page: two scatter plots (one colour per model) and a table per model.
(function () {
  "use strict";
  const { el, ms, number, getJSON, initial } = window.llmproxy;
  const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2",
                   "#db2777", "#65a30d", "#ea580c", "#4f46e5"];
  const form = document.getElementById("perf-filters");
  const charts = {};

  function colour(index) { return COLOURS[index % COLOURS.length]; }

  function datasets(points, x, y) {
    const byModel = new Map();
    for (const point of points) {
      if (point[x] === null || point[y] === null) continue;
      if (!byModel.has(point.model)) byModel.set(point.model, []);
      byModel.get(point.model).push({ x: point[x], y: point[y], id: point.id });
    }
    return [...byModel.entries()].map(([model, data], i) => ({
      label: model, data: data, backgroundColor: colour(i), pointRadius: 3,
    }));
  }

  function chart(id, xTitle, yTitle) {
    return new Chart(document.getElementById(id), {
      type: "scatter",
      data: { datasets: [] },
      options: {
        animation: false, parsing: false, normalized: true,
        scales: { x: { title: { display: true, text: xTitle } },
                  y: { title: { display: true, text: yTitle } } },
        plugins: { tooltip: { callbacks: { label: function (item) {
          return item.dataset.label + ": " + number(item.raw.x) + ", " + ms(item.raw.y);
        } } } },
        onClick: function (event, elements) {
          if (!elements.length) return;
          const element = elements[0];
          const point = this.data.datasets[element.datasetIndex].data[element.index];
          location.href = "/request/" + encodeURIComponent(point.id);
        },
      },
    });
  }

  function renderTable(models) {
    const body = document.querySelector("#models tbody");
    body.replaceChildren(...models.map(function (row) {
      const tr = el("tr");
      tr.append(el("td", row.model), el("td", number(row.count)),
                el("td", (100 * row.error_rate).toFixed(1) + "%"), el("td", ms(row.p50_ms)),
                el("td", ms(row.p95_ms)), el("td", ms(row.p50_ttft_ms)),
                el("td", row.tokens_per_second ? row.tokens_per_second.toFixed(1) : "–"));
      return tr;
    }));
  }

  function render(data) {
    charts.duration.data.datasets = datasets(data.points, "completion_tokens", "duration_ms");
    charts.ttft.data.datasets = datasets(data.points, "prompt_tokens", "ttft_ms");
    charts.duration.update("none");
    charts.ttft.update("none");
    renderTable(data.models);
  }

  function addPoint(target, row, x, y) {
    if (row[x] === null || row[y] === null || row[x] === undefined) return;
    let dataset = target.data.datasets.find((d) => d.label === row.model_in);
    if (!dataset) {
      dataset = { label: row.model_in, data: [], pointRadius: 3,
                  backgroundColor: colour(target.data.datasets.length) };
      target.data.datasets.push(dataset);
    }
    dataset.data.push({ x: row[x], y: row[y], id: row.id });
    target.update("none");
  }

  async function load() {
    const params = new URLSearchParams(new FormData(form));
    render(await getJSON("/api/performance?" + params.toString()));
  }

  document.addEventListener("llmproxy:requests", function (event) {
    const service = new FormData(form).get("service");
    for (const { event: kind, request: row } of event.detail) {
      if (kind !== "finished" || row.state !== "ok") continue;
      if (service && row.service !== service) continue;
      addPoint(charts.duration, row, "completion_tokens", "duration_ms");
      addPoint(charts.ttft, row, "prompt_tokens", "ttft_ms");
    }
  });
  form.addEventListener("change", load);

  charts.duration = chart("chart-duration", "completion tokens", "duration (ms)");
  charts.ttft = chart("chart-ttft", "prompt tokens", "time to first token (ms)");
  render(initial());
})();
