// oscheck's live page: renders the snapshots /live/events streams.
// One EventSource per tab; it is reopened, with a backoff, whenever it
// fails or goes quiet, so the page survives the service restarting.
"use strict";
(function () {
  // Okabe-Ito colours (distinguishable with colour-blindness), each solid,
  // dashed and dotted: 24 looks, as many as a snapshot has series (the
  // server sums the os_types past 23 under REST). The legend's markers and
  // the table's swatches have the line's colour and pattern.
  const palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#7a6a00"];
  const patterns = [["solid", undefined], ["dashed", [8, 4]], ["dotted", [2, 3]]];
  const LOOKS = palette.length * patterns.length;
  const REST = "(rest)"; // not an os_type: the server's key for the ones summed
  const $ = (id) => document.getElementById(id);
  const fmt = new Intl.NumberFormat("en-US");
  const fmt1 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
  let snap = null, plot = null, plotKey = "", es = null, backoff = 500, lastMessage = 0;
  let mode = "abs", last = 30;
  // An os_type keeps its look (slot) for the page's life, whatever its rank;
  // only one new to the page while all 24 are taken by os_types on show
  // takes the slot of one not on show. Series and columns keep the order
  // os_types came in, so a change of rank moves nothing. Maps, not objects:
  // an os_type may be named "constructor" or "__proto__".
  const slotOf = new Map(), ownerOf = new Map(), seen = new Map(), hidden = new Set();
  let onShow = new Set();

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
  function look(os) {
    const slot = slotOf.get(os) ?? 0;
    const [style, dash] = patterns[Math.floor(slot / palette.length) % patterns.length];
    return { color: palette[slot % palette.length], style, dash };
  }
  const swatchStyle = (os) => { const l = look(os); return `background:${l.color}33;border:2px ${l.style} ${l.color}`; };
  const label = (os) => (os === REST ? `${snap.rest ? snap.rest.length : 0} more os_types` : os);
  // order gives the os_types on show their slots and their stable order.
  function order(types) {
    const shown = new Set(), taken = new Set();
    const give = (os, slot) => { slotOf.set(os, slot); ownerOf.set(slot, os); taken.add(slot); shown.add(os); };
    for (const os of types) if (onShow.has(os) && slotOf.has(os) && !taken.has(slotOf.get(os))) give(os, slotOf.get(os));
    for (const os of types) {
      if (shown.has(os)) continue;
      if (slotOf.has(os) && !taken.has(slotOf.get(os))) { give(os, slotOf.get(os)); continue; }
      let slot = -1;
      for (let i = 0; i < LOOKS && slot < 0; i++) if (!taken.has(i) && !ownerOf.has(i)) slot = i; // never given
      for (let i = 0; i < LOOKS && slot < 0; i++) if (!taken.has(i)) slot = i; // given to one not on show
      give(os, slot < 0 ? taken.size % LOOKS : slot);
    }
    onShow = shown;
    for (const os of types) if (!seen.has(os)) seen.set(os, os === REST ? Infinity : seen.size);
    return types.slice().sort((a, b) => seen.get(a) - seen.get(b));
  }

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
    // The quiet check counts from this stream's start, not the last one's
    // last message.
    lastMessage = Date.now();
    es.onopen = () => { lastMessage = Date.now(); };
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
    const types = order(snap.os_types);
    drawChart(ws, types);
    drawOpen(snap.windows.filter((w) => !w.final));
    drawRates(snap.rates);
    drawLag(snap.lag);
    drawTable(ws, types);
    $("window-info").textContent = snap.window_ms
      ? `${ws.length} windows of ${snap.window_ms / 1000} s; updated ${time(snap.at)}`
      : `updated ${time(snap.at)}`;
  }
  const count = (w, os) => (Object.hasOwn(w.counts, os) ? Number(w.counts[os]) || 0 : 0);
  const value = (w, os) => {
    const n = count(w, os);
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
      // A new os_type or mode: a new chart, with the series the reader hid
      // still hidden and the legend entry that had focus focused again.
      const focused = document.activeElement && document.activeElement.closest(".u-legend") ? document.activeElement.dataset.os : null;
      if (plot) plot.destroy();
      plotKey = key;
      const looks = types.map(look);
      plot = new uPlot({
        width, height: 300,
        scales: { x: { time: true } },
        axes: [{}, { label: mode === "share" ? "share of requests (%)" : "requests per window", size: 70 }],
        legend: { markers: { width: 2, stroke: (u, i) => looks[i - 1].color, fill: (u, i) => looks[i - 1].color + "33", dash: (u, i) => looks[i - 1].style } },
        series: [{ label: "window start" }].concat(types.map((os, i) => ({
          label: label(os), stroke: looks[i].color, width: 2, dash: looks[i].dash, show: !hidden.has(os),
          points: { show: true, size: 5 },
          value: (u, v) => (v == null ? "-" : mode === "share" ? fmt1.format(v) + "%" : fmt.format(v)),
        }))),
        hooks: { setSeries: [(u) => syncLegend(u, types)] },
      }, data, box);
      // The legend's entries hide and show their lines on a click; they are
      // buttons for the keyboard too.
      legendRows().forEach((tr, i) => {
        if (i === 0) return;
        const th = tr.firstElementChild;
        th.tabIndex = 0;
        th.setAttribute("role", "button");
        th.dataset.os = types[i - 1];
        th.addEventListener("keydown", (e) => {
          if (e.key !== "Enter" && e.key !== " ") return;
          e.preventDefault();
          th.dispatchEvent(new MouseEvent("click", { bubbles: true }));
        });
        if (th.dataset.os === focused) th.focus();
      });
      syncLegend(plot, types);
    } else {
      plot.setData(data);
      const rest = types.indexOf(REST) + 1;
      if (rest > 0 && plot.series[rest].label !== label(REST)) {
        plot.series[rest].label = label(REST);
        const l = legendRows()[rest];
        if (l) l.querySelector(".u-label").textContent = label(REST);
      }
    }
  }
  const legendRows = () => [...$("chart").querySelectorAll(".u-legend .u-series")];
  function syncLegend(u, types) {
    legendRows().forEach((tr, i) => {
      if (i === 0 || !u.series[i]) return;
      const show = u.series[i].show;
      if (show) hidden.delete(types[i - 1]); else hidden.add(types[i - 1]);
      tr.firstElementChild.setAttribute("aria-pressed", String(show));
    });
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
        const n = count(w, os);
        if (n > 0) list.append(el("li", {}, `${label(os)}: `, el("span", { class: "n", "data-os": os, text: fmt.format(n) })));
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
    for (const os of types) head.append(el("th", { scope: "col" },
      el("span", { class: "swatch", style: swatchStyle(os), "aria-hidden": "true" }), label(os)));
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
    const note = $("rest-note"), rest = snap.rest || [];
    note.hidden = !rest.length || !types.includes(REST);
    note.textContent = note.hidden ? "" : `“${label(REST)}” is the sum of the ${rest.length} os_types with the fewest requests ` +
      `over the last ${snap.windows.length} window${snap.windows.length === 1 ? "" : "s"} (the chart and this table show at most 24 series): ${rest.join(", ")}.`;
  }

  // --- controls -----------------------------------------------------------
  for (const r of document.querySelectorAll('input[name="mode"]')) {
    r.addEventListener("change", () => { mode = r.value; draw(); });
  }
  $("last").addEventListener("change", (e) => { last = Number(e.target.value); draw(); });
  connect();
})();
