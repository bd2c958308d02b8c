// Baliza console: the live feed (EventSource), live delivery of a sent notice
// (polling its console JSON route) and the place pickers.
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
  const zone = tbody.dataset.tz || "UTC";
  const when = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium", timeZone: zone });
  // dateStyle cannot be combined with timeZoneName: the zone's name is asked apart.
  const zoneName = (ms) => {
    const parts = new Intl.DateTimeFormat("en", { timeZone: zone, timeZoneName: "short" }).formatToParts(new Date(ms));
    const found = parts.find((p) => p.type === "timeZoneName");
    return found && /^[A-Z]+$/.test(found.value) ? found.value : zone;
  };
  const kinds = JSON.parse(tbody.dataset.kinds || "{}");
  const params = new URLSearchParams(tbody.dataset.query || "");
  params.set("after", tbody.dataset.after || "0");
  const source = new EventSource(tbody.dataset.stream + "?" + params.toString());
  source.addEventListener("open", () => { status.textContent = status.dataset.live; });
  source.addEventListener("error", () => { status.textContent = status.dataset.lost; });
  source.addEventListener("hit", () => { document.dispatchEvent(new CustomEvent("baliza:notice")); });
  source.addEventListener("notice", (event) => {
    document.dispatchEvent(new CustomEvent("baliza:notice"));
    const item = JSON.parse(event.data);
    const empty = tbody.querySelector("tr.empty");
    if (empty) { empty.remove(); }
    const row = document.createElement("tr");
    row.className = "fresh";
    cell(row, when.format(new Date(item.created_ms)) + " " + zoneName(item.created_ms));
    const badge = document.createElement("span");
    badge.className = "tlp tlp-" + String(item.tlp).replace("+", "-");
    badge.textContent = "TLP:" + String(item.tlp).toUpperCase();
    cell(row, "").appendChild(badge);
    cell(row, kinds[item.kind] || item.kind);
    cell(row, item.sender);
    cell(row, item.summary, "/console/notices/" + encodeURIComponent(item.id));
    tbody.insertBefore(row, tbody.firstChild);
    labelCells(tbody.closest("table"));
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

// Per recipient: delivered, read, outcome. Polls every few seconds; stops once
// every recipient is final (refused, or answered with an outcome), after an
// hour, or when the session has ended.
const DELIVERY_EVERY_MS = 3000;
const DELIVERY_POLLS = 1200;

function startDelivery(tbody) {
  const status = document.getElementById("delivery-status");
  let polls = 0;
  async function poll() {
    polls += 1;
    let answer;
    try {
      answer = await fetch(tbody.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (err) {
      answer = null;
    }
    if (!answer || !answer.ok || !(answer.headers.get("Content-Type") || "").startsWith("application/json")) {
      status.textContent = status.dataset.lost;
      return;
    }
    const delivery = await answer.json();
    let open = 0;
    for (const item of delivery.items) {
      let row = tbody.querySelector("tr[data-agency='" + CSS.escape(item.agency) + "']");
      if (!row) {
        row = document.createElement("tr");
        row.dataset.agency = item.agency;
        cell(row, item.agency);
        for (const field of ["state", "delivered", "read", "outcome"]) {
          cell(row, "").dataset.field = field;
        }
        tbody.appendChild(row);
      }
      for (const field of ["state", "delivered", "read", "outcome"]) {
        const td = row.querySelector("td[data-field='" + field + "']");
        if (td.textContent !== item[field]) {
          td.textContent = item[field];
          td.classList.add("fresh");
        }
      }
      // An alert read but not answered yet still waits for its outcome.
      const awaited = tbody.dataset.answered === "awaited" && item.read && !item.outcome;
      if (!item.final || awaited) { open += 1; }
    }
    labelCells(tbody.closest("table"));
    status.textContent = status.dataset.live;
    if (open > 0 && polls < DELIVERY_POLLS) {
      setTimeout(poll, DELIVERY_EVERY_MS);
    }
  }
  setTimeout(poll, DELIVERY_EVERY_MS);
}

// On a narrow screen a table shows one card per row: each cell carries the
// name of its column (the stylesheet shows it), for rows drawn later too.
function labelCells(table) {
  const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  if (!heads.length) { return; }
  table.querySelectorAll("tbody tr").forEach((row) => {
    [...row.children].forEach((cell, i) => {
      if (heads[i] && !cell.dataset.label && cell.tagName === "TD") { cell.dataset.label = heads[i]; }
    });
  });
}

function labelTables() {
  document.querySelectorAll("main table").forEach(labelCells);
}

// No zone chosen yet: offer the browser's own, once (the server remembers it in
// a cookie; pages from the next one on show times in it).
function offerBrowserZone() {
  const ask = document.documentElement.dataset.tzAsk;
  if (!ask || !window.fetch || !window.Intl) { return; }
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) { return; }
  fetch(ask + "?tz=" + encodeURIComponent(zone), { credentials: "same-origin" }).catch(() => {});
}

// An alert's arrival may be typed in the destination's zone: offer it once the
// destination is known (the place list names each place's zone).
function offerDestinationZone(input, select) {
  input.addEventListener("change", async () => {
    const code = input.value.trim().toUpperCase();
    if (code.length < 3) { return; }
    const answer = await fetch(input.dataset.picker + "?q=" + encodeURIComponent(code), { credentials: "same-origin" });
    if (!answer.ok) { return; }
    const place = (await answer.json()).find((p) => p.code === code);
    if (!place || !place.tz || [...select.options].some((o) => o.value === place.tz)) { return; }
    const option = document.createElement("option");
    option.value = place.tz;
    option.textContent = place.tz;
    select.appendChild(option);
  });
}

// Switching language on a half-filled publish form: carry its fields across
// (a GET with the form's state; the server fills the form in again).
function carryFormAcrossLanguages(form) {
  document.querySelectorAll(".langs a[hreflang]").forEach((link) => {
    link.addEventListener("click", (event) => {
      const params = new URLSearchParams(window.location.search);
      for (const [name, value] of new FormData(form)) {
        if (typeof value === "string" && name !== "csrf") { params.delete(name); }
      }
      for (const [name, value] of new FormData(form)) {
        if (typeof value === "string" && name !== "csrf" && value !== "") { params.append(name, value); }
      }
      params.set("carried", "1");
      params.set("lang", link.getAttribute("hreflang"));
      event.preventDefault();
      window.location.assign(window.location.pathname + "?" + params.toString());
    });
  });
}

// Notifications: the menu's badge and the title's count, refreshed when the
// page loads and whenever the live stream announces a notice (the notifier
// evaluates it within a moment, so the count is read again shortly after),
// and the browser's own notification for each new one, once allowed.
const NOTIFY_AGAIN_MS = [700, 2500, 6000];
const NOTIFY_POLL_MS = 60000;

function startNotifications(link) {
  const badge = document.getElementById("notify-count");
  const label = document.getElementById("notify-count-label");
  const baseTitle = document.title;
  let shown = Number(sessionStorage.getItem("baliza-notified") || "0");
  let streaming = false;
  const show = (data) => {
    const unread = Number(data.unread) || 0;
    badge.textContent = String(unread);
    badge.hidden = unread === 0;
    label.hidden = unread === 0;
    document.title = unread ? "(" + unread + ") " + baseTitle : baseTitle;
    const pageCount = document.getElementById("watching-unread");
    if (pageCount) { pageCount.textContent = String(unread); }
    const fresh = (data.items || []).filter((n) => n.seq > shown);
    if (fresh.length && window.Notification && Notification.permission === "granted") {
      fresh.reverse().forEach((n) => {
        const note = new Notification(data.title, { body: n.text, tag: "baliza-" + n.seq });
        note.addEventListener("click", () => { window.focus(); window.location.assign(n.url); });
      });
    }
    for (const n of data.items || []) { shown = Math.max(shown, n.seq); }
    sessionStorage.setItem("baliza-notified", String(shown));
    return data;
  };
  const refresh = async () => {
    const answer = await fetch(link.dataset.counts, { credentials: "same-origin" });
    if (!answer.ok) { return null; }
    return show(await answer.json());
  };
  const soon = () => { NOTIFY_AGAIN_MS.forEach((ms) => setTimeout(refresh, ms)); };
  document.addEventListener("baliza:notice", soon);
  refresh().then((data) => {
    // The feed page's stream already tells us; elsewhere, follow one from now on.
    if (!data || document.getElementById("feed") || !window.EventSource || streaming) { return; }
    streaming = true;
    const source = new EventSource("/console/stream?after=" + encodeURIComponent(data.after || 0));
    source.addEventListener("notice", soon);
    source.addEventListener("hit", soon);
  });
  setInterval(refresh, NOTIFY_POLL_MS);
  const allow = document.getElementById("allow-notifications");
  if (allow && window.Notification && Notification.permission === "default") {
    allow.hidden = false;
    allow.addEventListener("click", async () => {
      await Notification.requestPermission();
      allow.hidden = Notification.permission !== "default";
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  offerBrowserZone();
  const watching = document.getElementById("nav-watching");
  if (watching && window.fetch) { startNotifications(watching); }
  const publish = document.querySelector("form.publish");
  if (publish) { carryFormAcrossLanguages(publish); }
  const destination = document.getElementById("destination");
  const arrivalZone = document.getElementById("expected_tz");
  if (destination && arrivalZone && destination.dataset.picker && window.fetch) { offerDestinationZone(destination, arrivalZone); }
  labelTables();
  const summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  const delivery = document.getElementById("delivery");
  if (delivery && window.fetch) { startDelivery(delivery); }
  const feed = document.getElementById("feed");
  if (feed && window.EventSource) { startFeed(feed); }
  document.querySelectorAll("input[data-picker]").forEach(startPicker);
});
