// Small helpers shared by the pages. Text always goes in through textContent: whatever a
// client or a model wrote is shown, never run.
window.llmproxy = (function () {
  "use strict";

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function ms(value) {
    if (value === null || value === undefined) return "–";
    return value >= 10000 ? (value / 1000).toFixed(1) + " s" : Math.round(value) + " ms";
  }

  function number(value) {
    if (value === null || value === undefined) return "–";
    return Number(value).toLocaleString();
  }

  function modelLabel(row) {
    return row.model_out && row.model_out !== row.model_in
      ? row.model_in + " → " + row.model_out : row.model_in || "–";
  }

  function time(iso) {
    const date = new Date(iso);
    return date.toLocaleTimeString([], { hour12: false }) + " " +
      date.toLocaleDateString([], { month: "short", day: "numeric" });
  }

  function requestLink(row, text) {
    const link = el("a", text);
    link.href = "/request/" + encodeURIComponent(row.id);
    return link;
  }

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin",
                                        headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(url + ": " + response.status);
    return response.json();
  }

  function initial() {
    return JSON.parse(document.getElementById("initial").textContent);
  }

  return { el, ms, number, modelLabel, time, requestLink, getJSON, initial };
})();
