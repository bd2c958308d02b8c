// Baliza console: the live feed (EventSource) and the place pickers.
// Small on purpose; every page works without it.
"use strict";

function cell(row, text, href) {
  const td = document.createElement("td");
  if (href) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    td.appendChild(a);
  } else {
    td.textContent = text;
  }
  row.appendChild(td);
  return td;
}

function startFeed(tbody) {
  const status = document.getElementById("live-status");
  const lang = tbody.dataset.lang || "en";
  const when = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium", timeZone: "UTC" });
  const kinds = JSON.parse(tbody.dataset.kinds || "{}");
  const params = new URLSearchParams(tbody.dataset.query || "");
  params.set("after", tbody.dataset.after || "0");
  const source = new EventSource(tbody.dataset.stream + "?" + params.toString());
  source.addEventListener("open", () => { status.textContent = status.dataset.live; });
  source.addEventListener("error", () => { status.textContent = status.dataset.lost; });
  source.addEventListener("notice", (event) => {
    const item = JSON.parse(event.data);
    const empty = tbody.querySelector("tr.empty");
    if (empty) { empty.remove(); }
    const row = document.createElement("tr");
    row.className = "fresh";
    cell(row, when.format(new Date(item.created_ms)) + " UTC");
    const badge = document.createElement("span");
    badge.className = "tlp tlp-" + String(item.tlp).replace("+", "-");
    badge.textContent = "TLP:" + String(item.tlp).toUpperCase();
    cell(row, "").appendChild(badge);
    cell(row, kinds[item.kind] || item.kind);
    cell(row, item.sender);
    cell(row, item.summary, "/console/notices/" + encodeURIComponent(item.id));
    tbody.insertBefore(row, tbody.firstChild);
  });
}

function startPicker(input) {
  const list = document.getElementById(input.getAttribute("list"));
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const query = input.value.trim();
    if (query.length < 2) { return; }
    timer = setTimeout(async () => {
      const answer = await fetch(input.dataset.picker + "?q=" + encodeURIComponent(query), { credentials: "same-origin" });
      if (!answer.ok) { return; }
      const places = await answer.json();
      list.replaceChildren(...places.map((p) => {
        const option = document.createElement("option");
        option.value = p.code;
        option.textContent = p.name;
        return option;
      }));
    }, 200);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const feed = document.getElementById("feed");
  if (feed && window.EventSource) { startFeed(feed); }
  document.querySelectorAll("input[data-picker]").forEach(startPicker);
});
