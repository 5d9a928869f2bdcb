// fichier dashboard: live queue updates (server-sent events) and actions through the JSON API.
// Served as a file (the Content-Security-Policy allows no inline script). Text from the server
// is only ever set with textContent, never parsed as HTML.
"use strict";

(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  // Per daemon process: after a restart the page fetches the new one and tries again.
  let csrf = meta ? meta.content : "";
  const UNREACHABLE = "Daemon not reachable: is `fichier daemon` (or `fichier dashboard --serve`) running? This page reconnects by itself.";

  function fmtBytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = n, u = 0;
    while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    return u === 0 ? n + " B" : v.toFixed(1) + " " + units[u];
  }

  function fmtEta(s) {
    const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
    const two = (x) => (x < 10 ? "0" : "") + x;
    if (h > 0) return h + "h " + two(m) + "m";
    if (m > 0) return m + "m " + two(r) + "s";
    return r + "s";
  }

  function untilText(item) {
    if (!item.until) return "";
    return " until " + item.until.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC");
  }

  // Control and bidi characters become U+FFFD, as on the server-rendered page.
  function clean(text) {
    return String(text).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, "\ufffd");
  }

  function setText(row, sel, text) {
    const el = row.querySelector(sel);
    if (el) el.textContent = clean(text);
  }

  function fill(row, item) {
    row.id = "item-" + item.id;
    row.dataset.id = String(item.id);
    row.dataset.state = item.state;
    setText(row, ".c-id", String(item.id));
    const name = row.querySelector(".name");
    if (name) { name.textContent = clean(item.name || item.source); name.title = clean(item.source); }
    setText(row, ".source", item.source);
    setText(row, ".c-pkg", item.package || "");
    const st = row.querySelector(".st");
    if (st) { st.textContent = item.state; st.className = "st st-" + item.state; }
    setText(row, ".reason", item.reason ? item.reason + untilText(item) : untilText(item).trim());
    const bar = row.querySelector("progress");
    if (bar) {
      if (item.size) {
        bar.max = item.size;
        bar.value = Math.min(item.bytes_done, item.size);
        setText(row, ".pct", Math.floor((Math.min(item.bytes_done, item.size) * 100) / item.size) + "%");
        setText(row, ".size", fmtBytes(item.size));
      } else {
        bar.removeAttribute("value");
        setText(row, ".pct", "");
        setText(row, ".size", "");
      }
    }
    const downloading = item.state === "downloading";
    setText(row, ".c-speed", downloading && item.speed_bps > 0 ? fmtBytes(item.speed_bps) + "/s" : "");
    setText(row, ".c-eta", downloading && item.eta_secs != null ? fmtEta(item.eta_secs) : "");
    const id = row.querySelector('input[name="id"]');
    if (id) id.value = String(item.id);
  }

  function notice(text, isError) {
    let box = document.getElementById("notice");
    if (!box) {
      box = document.createElement("p");
      box.id = "notice";
      box.setAttribute("role", "status");
      const main = document.querySelector("main");
      main.insertBefore(box, main.firstChild);
    }
    box.className = isError ? "error" : "ok";
    box.textContent = text;
  }

  // Refusals come as {"error", "reason"}: the message is shown as it is, with the way out.
  function failure(resp, data) {
    if (data.reason === "signed-out") {
      return new Error("Signed out: " + data.error);
    }
    return new Error(data.error || (resp.status + " " + resp.statusText));
  }

  async function send(url, body) {
    let resp;
    try {
      resp = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
      });
    } catch (_) {
      throw new Error(UNREACHABLE);
    }
    const data = await resp.json().catch(() => ({}));
    return { resp, data };
  }

  async function post(url, body) {
    let { resp, data } = await send(url, body);
    if (resp.status === 403 && data.reason === "csrf") {
      const fresh = await fetch("/api/csrf", { credentials: "same-origin" }).catch(() => null);
      if (fresh && fresh.ok) {
        csrf = (await fresh.json()).csrf;
        ({ resp, data } = await send(url, body));
      }
    }
    if (!resp.ok) throw failure(resp, data);
    return data;
  }

  // Queue actions go to /api/action; the live stream redraws the rows.
  document.addEventListener("submit", async (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement) || form.getAttribute("action") !== "/action") return;
    const button = ev.submitter;
    if (!button || !button.value) return;
    ev.preventDefault();
    const body = { op: button.value };
    const id = form.querySelector('input[name="id"]');
    const pkg = form.querySelector('input[name="package"]');
    const all = form.querySelector('input[name="all"]');
    if (id) body.id = Number(id.value);
    else if (pkg) body.package = pkg.value;
    else if (all) body.all = true;
    try {
      const r = await post("/api/action", body);
      notice(button.textContent.trim() + ": " + r.changed + " changed", false);
    } catch (e) {
      notice(String(e.message || e), true);
    }
  });

  const table = document.getElementById("queue");
  if (!table || !window.EventSource) return;
  const tbody = table.tBodies[0];
  const template = document.getElementById("row-template");
  const since = table.dataset.version;
  const source = new EventSource("/api/events?since=" + encodeURIComponent(since));
  const live = document.getElementById("live");
  source.addEventListener("open", () => {
    if (live) live.hidden = false;
    const box = document.getElementById("notice");
    if (box && box.dataset.stream) box.remove();
  });
  // The stream ended: say why (the daemon is down, or this page was signed out) instead of
  // leaving the person to find out from a failing button.
  source.addEventListener("error", async () => {
    if (live) live.hidden = true;
    let why = UNREACHABLE;
    try {
      const r = await fetch("/api/csrf", { credentials: "same-origin" });
      if (r.ok) return; // a blip: EventSource reconnects by itself
      const data = await r.json().catch(() => ({}));
      why = failure(r, data).message;
      source.close();
    } catch (_) { /* unreachable */ }
    notice(why, true);
    const box = document.getElementById("notice");
    if (box) box.dataset.stream = "1";
  });
  source.addEventListener("queue", (ev) => {
    const d = JSON.parse(ev.data);
    table.dataset.version = String(d.version);
    for (const item of d.upserts) {
      let row = document.getElementById("item-" + item.id);
      if (!row && template) {
        row = template.content.firstElementChild.cloneNode(true);
        tbody.appendChild(row);
      }
      if (row) fill(row, item);
    }
    for (const id of d.removed) {
      const row = document.getElementById("item-" + id);
      if (row) row.remove();
    }
    const keep = new Set(d.order.map(String));
    for (const row of Array.from(tbody.rows)) {
      if (!keep.has(row.dataset.id)) row.remove();
    }
    for (const id of d.order) {
      const row = document.getElementById("item-" + id);
      if (row) tbody.appendChild(row);
    }
    const badge = document.getElementById("pending-count");
    if (badge) { badge.textContent = String(d.pending); badge.hidden = d.pending === 0; }
    const summary = document.getElementById("summary");
    if (summary) {
      const counts = {};
      for (const row of tbody.rows) counts[row.dataset.state] = (counts[row.dataset.state] || 0) + 1;
      summary.textContent = Object.keys(counts).sort().map((k) => k + " " + counts[k]).join(" · ") ||
        "The queue is empty.";
    }
  });
})();
