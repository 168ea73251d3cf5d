// oscheck's live page: renders the snapshots /live/events streams.
// One EventSource per tab; it is reopened, with a backoff, whenever it
// fails or goes quiet, so the page survives the service restarting.
"use strict";
(function () {
  // Okabe-Ito colours (distinguishable with colour-blindness), then the same
  // with dashes, so any number of os_types stays apart.
  const palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#7a6a00"];
  const $ = (id) => document.getElementById(id);
  const fmt = new Intl.NumberFormat("en-US");
  const fmt1 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
  let snap = null, plot = null, plotKey = "", es = null, quiet = null, backoff = 500, lastMessage = 0;
  let mode = "abs", last = 30;

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  }
  const time = (ms) => new Date(ms).toLocaleTimeString("en-GB", { hour12: false });
  function duration(s) {
    if (s < 0) return "unknown (the backlog is not shrinking)";
    s = Math.round(s);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }
  const color = (i) => palette[i % palette.length];
  const dash = (i) => (i < palette.length ? undefined : [6, 4]);

  // --- connection ---------------------------------------------------------
  function setConn(cls, text) {
    const c = $("conn");
    c.className = "conn " + cls;
    c.dataset.state = cls;
    if (c.textContent !== text) c.textContent = text;
  }
  function connect() {
    if (es) es.close();
    es = new EventSource("/live/events");
    es.onmessage = (ev) => {
      backoff = 500;
      lastMessage = Date.now();
      try { render(JSON.parse(ev.data)); } catch (e) { console.error(e); }
    };
    es.onerror = () => {
      setConn("reconnecting", "reconnecting to oscheck…");
      // A browser retries a dropped stream by itself, but gives up on an
      // answer that is not a stream (a 503 from a proxy, say): then retry here.
      if (es.readyState === EventSource.CLOSED) retry();
    };
  }
  function retry() {
    es.close();
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 5000);
  }
  // Snapshots come every second; a stream silent for 5 s is dead even if
  // the socket is not (a host that went away without a FIN).
  setInterval(() => {
    if (es && es.readyState === EventSource.OPEN && Date.now() - lastMessage > 5000) {
      setConn("reconnecting", "reconnecting to oscheck…");
      retry();
    }
  }, 1000);

  // --- rendering ----------------------------------------------------------
  function render(s) {
    snap = s;
    switch (s.status) {
      case "ok": setConn("live", "live"); break;
      case "recovering": setConn("recovering", "live: the window table view is recovering"); break;
      case "restarting": setConn("restarting", "the service is restarting"); break;
      default: setConn("error", "error: " + (s.message || s.status));
    }
    draw();
  }
  function draw() {
    if (!snap) return;
    const ws = snap.windows.slice(-last);
    const types = snap.os_types;
    drawChart(ws, types);
    drawOpen(snap.windows.filter((w) => !w.final));
    drawRates(snap.rates);
    drawLag(snap.lag);
    drawTable(ws, types);
    $("window-info").textContent = snap.window_ms
      ? `${ws.length} windows of ${snap.window_ms / 1000} s; updated ${time(snap.at)}`
      : `updated ${time(snap.at)}`;
  }
  const value = (w, os) => {
    const n = w.counts[os] || 0;
    return mode === "share" ? (w.total ? (100 * n) / w.total : 0) : n;
  };

  function drawChart(ws, types) {
    const box = $("chart");
    // A window the table does not hold (no records, or not retained) is a
    // gap in the lines, not a straight line across it.
    const xs = [], rows = [];
    ws.forEach((w, i) => {
      if (i > 0 && snap.window_ms && w.start - ws[i - 1].start > snap.window_ms) {
        xs.push((ws[i - 1].start + snap.window_ms) / 1000);
        rows.push(null);
      }
      xs.push(w.start / 1000);
      rows.push(w);
    });
    const data = [xs];
    for (const os of types) data.push(rows.map((w) => (w ? value(w, os) : null)));
    const key = mode + "|" + types.join(",");
    const width = Math.max(300, box.clientWidth);
    if (!plot || key !== plotKey) {
      if (plot) plot.destroy();
      plotKey = key;
      plot = new uPlot({
        width, height: 300,
        scales: { x: { time: true } },
        axes: [{}, { label: mode === "share" ? "share of requests (%)" : "requests per window", size: 70 }],
        series: [{ label: "window start" }].concat(types.map((os, i) => ({
          label: os, stroke: color(i), width: 2, dash: dash(i),
          points: { show: true, size: 5 },
          value: (u, v) => (v == null ? "-" : mode === "share" ? fmt1.format(v) + "%" : fmt.format(v)),
        }))),
      }, data, box);
    } else {
      plot.setData(data);
    }
  }
  window.addEventListener("resize", () => { if (plot) plot.setSize({ width: Math.max(300, $("chart").clientWidth), height: 300 }); });

  function drawOpen(open) {
    const box = $("open");
    box.replaceChildren();
    if (!open.length) {
      box.append(el("p", { class: "muted", text: "no window is open in the window table" }));
      return;
    }
    for (const w of open.slice(-3).reverse()) {
      const d = el("div", { class: "open-window", "data-start": w.start, "data-reported": w.reported, "data-partitions": w.partitions });
      d.append(el("p", {}, el("strong", { text: `${time(w.start)}–${time(w.end)}` }),
        ` ${w.reported} of ${w.partitions} partitions reported `,
        el("progress", { max: w.partitions, value: w.reported, "aria-label": "partitions reported" })));
      const list = el("ul");
      for (const os of snap.os_types) {
        if (w.counts[os]) list.append(el("li", {}, `${os}: `, el("span", { class: "n", "data-os": os, text: fmt.format(w.counts[os]) })));
      }
      d.append(list, el("p", { class: "muted", text: `so far ${fmt.format(w.total)} requests` }));
      box.append(d);
    }
  }

  function drawRates(r) {
    const measuring = r.span_s <= 0;
    const per = (n) => (measuring ? "measuring…" : `${fmt1.format(n)}/s`);
    const pct = (n) => (r.consumed_per_s > 0 ? ` (${fmt1.format((100 * n) / r.consumed_per_s)}%)` : "");
    const rows = [
      ["records", per(r.consumed_per_s), "consumed"],
      ["late", per(r.late_per_s) + pct(r.late_per_s), "late"],
      ["malformed", per(r.malformed_per_s) + pct(r.malformed_per_s), "malformed"],
      ["records in all", fmt.format(r.consumed_total), "consumed-total"],
      ["late in all", fmt.format(r.late_total), "late-total"],
      ["malformed in all", fmt.format(r.malformed_total), "malformed-total"],
    ];
    const dl = $("rates");
    dl.replaceChildren();
    for (const [k, v, id] of rows) dl.append(el("dt", { text: k }), el("dd", { id: "rate-" + id, text: v }));
  }

  function drawLag(lag) {
    const s = $("lag-summary");
    s.replaceChildren();
    if (lag.behind) {
      s.append(el("strong", { text: `Behind by ${fmt.format(lag.total)} records` }), "; about ",
        el("span", { id: "eta", text: duration(lag.eta_s) }), " left ",
        el("progress", { max: 1, value: lag.progress, "aria-label": "catch-up progress" }));
    } else {
      s.append(`Caught up (${fmt.format(lag.total)} records behind on the input).`);
    }
    const t = el("table", { id: "lag-table" },
      el("caption", { class: "vh", text: "Consumer lag per owned partition" }),
      el("thead", {}, el("tr", {}, ...["topic", "partition", "lag", "caught up"].map((h) => el("th", { scope: "col", text: h })))));
    const tb = el("tbody");
    for (const p of lag.partitions) {
      tb.append(el("tr", {},
        el("td", { title: p.topic, text: p.stage === "parse" ? "input" : "repartition" }),
        el("td", { text: String(p.partition) }),
        el("td", { text: fmt.format(p.lag) }),
        el("td", {}, p.behind
          ? el("progress", { max: 1, value: p.progress, "aria-label": `partition ${p.partition} catch-up` })
          : "caught up")));
    }
    t.append(tb);
    $("lag").replaceChildren(lag.partitions.length ? t : el("p", { class: "muted", text: "no partitions owned right now" }));
  }

  function drawTable(ws, types) {
    const t = $("windows");
    const head = el("tr", {}, el("th", { scope: "col", text: "window" }), el("th", { scope: "col", text: "state" }),
      el("th", { scope: "col", text: "total" }));
    types.forEach((os, i) => head.append(el("th", { scope: "col" },
      el("span", { class: "swatch", style: `background:${color(i)}`, "aria-hidden": "true" }), os)));
    t.tHead.replaceChildren(head);
    const body = [];
    for (const w of ws.slice().reverse()) {
      const tr = el("tr", { "data-start": w.start, "data-final": w.final },
        el("th", { scope: "row", text: `${time(w.start)}–${time(w.end)}` }),
        el("td", w.final ? { text: "final" } : { class: "state-open", text: `open ${w.reported}/${w.partitions}` }),
        el("td", { "data-os": "_total", text: mode === "share" ? "100%" : fmt.format(w.total) }));
      for (const os of types) {
        const v = value(w, os);
        tr.append(el("td", { "data-os": os }, mode === "share" ? fmt1.format(v) + "%" : fmt.format(v)));
      }
      body.push(tr);
    }
    t.tBodies[0].replaceChildren(...body);
  }

  // --- controls -----------------------------------------------------------
  for (const r of document.querySelectorAll('input[name="mode"]')) {
    r.addEventListener("change", () => { mode = r.value; draw(); });
  }
  $("last").addEventListener("change", (e) => { last = Number(e.target.value); draw(); });
  connect();
})();
