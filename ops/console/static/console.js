// Live event log: new rows arrive as server-sent events (rendered <tr> HTML) and go on top.
document.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("live");
  const rows = document.getElementById("event-rows");
  if (!live || !rows || !window.EventSource) return;
  const state = document.getElementById("live-state");
  const source = new EventSource(live.dataset.stream);
  source.onopen = () => { live.classList.add("on"); state.textContent = "实时 / live"; };
  source.onerror = () => { live.classList.remove("on"); state.textContent = "重连中 / reconnecting…"; };
  source.addEventListener("row", (msg) => {
    const body = document.createElement("tbody");
    body.innerHTML = msg.data;
    const row = body.firstElementChild;
    if (!row || rows.querySelector(`[data-entry="${row.dataset.entry}"]`)) return;
    rows.querySelector("tr.empty")?.remove();
    row.classList.add("new");
    rows.prepend(row);
    while (rows.children.length > 500) rows.lastElementChild.remove();
  });
});
