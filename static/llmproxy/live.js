// The live channel: one websocket to /ws/dashboard/, reconnecting by itself after a drop.
// Pages listen for "llmproxy:requests" events on the document; nothing polls in a loop.
(function () {
  "use strict";
  const indicator = document.getElementById("live");
  let delay = 500;

  function show(state) {
    if (!indicator) return;
    indicator.dataset.state = state;
    indicator.textContent = state;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + "/ws/dashboard/");
    socket.addEventListener("open", function () {
      delay = 500;
      show("live");
      document.dispatchEvent(new CustomEvent("llmproxy:connected"));
    });
    socket.addEventListener("message", function (message) {
      const data = JSON.parse(message.data);
      if (data.type === "requests") {
        document.dispatchEvent(new CustomEvent("llmproxy:requests", { detail: data.events }));
      }
    });
    socket.addEventListener("close", function () {
      show("reconnecting");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    });
  }

  connect();
})();
