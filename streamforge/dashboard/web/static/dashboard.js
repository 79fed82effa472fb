// StreamForge live dashboard: draws what the server pushes on /ws (message shapes: streamforge/dashboard/hub.py).
// hello -> we subscribe; snapshot -> redraw everything; update -> merge the changes; health -> the health panel.
// Snapshots and updates also carry the same asset on other venues and, where there is a perpetual, its panel.
"use strict";

const $ = (id) => document.getElementById(id);
const STALE_US = 5e6; // an event stream quiet for longer than this is shown in red
const TAPE_ROWS = 40; // more than the panel shows; the server keeps STREAMFORGE_DASHBOARD_TAPE per instrument
const state = { instrument: null, instruments: [], candles: new Map(), lastTime: 0, price: null, last: {}, nextFunding: null };

// ---- chart (lightweight-charts, served from node_modules by the dashboard server)
const chart = createChart();

function createChart() {
  if (typeof LightweightCharts === "undefined") {
    $("chart-error").hidden = false;
    $("chart-error").textContent = "Chart library missing: run `npm ci` in streamforge/dashboard/web (make does).";
    return null;
  }
  const lw = LightweightCharts;
  const c = lw.createChart($("chart"), {
    autoSize: true,
    layout: { background: { type: "solid", color: "#131821" }, textColor: "#a3adba", fontSize: 11 },
    grid: { vertLines: { color: "#1c2330" }, horzLines: { color: "#1c2330" } },
    rightPriceScale: { borderColor: "#222a36" },
    timeScale: { borderColor: "#222a36", timeVisible: true, secondsVisible: false, rightOffset: 4 },
    crosshair: { mode: lw.CrosshairMode.Normal },
  });
  const candles = c.addSeries(lw.CandlestickSeries, {
    upColor: "#22c55e", downColor: "#ef4444", borderVisible: false, wickUpColor: "#22c55e", wickDownColor: "#ef4444",
  });
  candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.28 } });
  const volume = c.addSeries(lw.HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "volume" });
  volume.priceScale().applyOptions({ scaleMargins: { top: 0.78, bottom: 0 } });
  return { chart: c, candles, volume };
}

function bar([time, open, high, low, close, volume]) {
  return {
    candle: { time, open, high, low, close },
    volume: { time, value: volume, color: close >= open ? "rgba(34,197,94,.45)" : "rgba(239,68,68,.45)" },
  };
}

function drawAllCandles() {
  if (!chart) return;
  const rows = [...state.candles.values()].sort((a, b) => a[0] - b[0]);
  chart.candles.setData(rows.map((r) => bar(r).candle));
  chart.volume.setData(rows.map((r) => bar(r).volume));
  state.lastTime = rows.length ? rows[rows.length - 1][0] : 0;
}

function mergeCandles(rows) {
  rows.forEach((r) => state.candles.set(r[0], r));
  if (!chart) return;
  // The library appends or replaces the newest bar only; a correction of an older minute needs a full redraw.
  if (rows.some((r) => r[0] < state.lastTime)) return drawAllCandles();
  for (const r of rows) {
    const b = bar(r);
    chart.candles.update(b.candle);
    chart.volume.update(b.volume);
    state.lastTime = r[0];
  }
}

// ---- formatting
const priceDigits = (p) => (p >= 100 ? 2 : p >= 1 ? 4 : 6);
const fmtPrice = (p) => p.toLocaleString("en-US", { minimumFractionDigits: priceDigits(p), maximumFractionDigits: priceDigits(p) });
const fmtQty = (q) => q.toLocaleString("en-US", { maximumFractionDigits: 4 });
const fmtNumber = (v) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en-US") : v.toLocaleString("en-US", { maximumFractionDigits: 3 }));
const fmtTime = (us) => new Date(us / 1000).toISOString().slice(11, 23);
const signed = (v, digits) => `${v >= 0 ? "+" : ""}${v.toFixed(digits)}`;
const fmtAge = (us) => (us < 1e6 ? `${Math.round(us / 1000)} ms` : us < 120e6 ? `${(us / 1e6).toFixed(1)} s` : `${Math.round(us / 60e6)} min`);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- price, tape, book
function showPrice(price) {
  const node = $("last-price");
  if (state.price !== null && price !== state.price) node.className = `price ${price > state.price ? "up" : "down"}`;
  state.price = price;
  node.textContent = fmtPrice(price);
  const first = [...state.candles.keys()].sort((a, b) => a - b)[0];
  if (first !== undefined) {
    const open = state.candles.get(first)[1];
    const change = ((price - open) / open) * 100;
    $("price-change").textContent = `${change >= 0 ? "+" : ""}${change.toFixed(2)}% since ${fmtTime(first * 1e6).slice(0, 5)} UTC`;
    $("price-change").className = `change ${change >= 0 ? "up" : "down"}`;
  }
}

function addTrades(trades, fresh) {
  const tape = $("tape");
  for (const [timeUs, price, qty, buyerIsMaker] of trades) {
    const row = el("li", fresh ? "fresh" : "");
    row.append(el("span", "time", fmtTime(timeUs)), el("span", buyerIsMaker ? "down" : "up", fmtPrice(price)), el("span", "", fmtQty(qty)));
    tape.prepend(row);
  }
  while (tape.children.length > TAPE_ROWS) tape.lastChild.remove();
  if (trades.length) showPrice(trades[trades.length - 1][1]);
}

function drawBook(book) {
  const levels = 10;
  const sides = { bids: book ? book.bids.slice(0, levels) : [], asks: book ? book.asks.slice(0, levels) : [] };
  const totals = {};
  for (const [side, rows] of Object.entries(sides)) {
    let total = 0;
    totals[side] = rows.map(([, qty]) => (total += qty));
  }
  const deepest = Math.max(1e-12, ...Object.values(totals).map((t) => t[t.length - 1] || 0));
  for (const [side, rows] of Object.entries(sides)) {
    const container = $(side);
    container.replaceChildren(...rows.map(([price, qty], i) => {
      const row = el("div", "level");
      row.style.setProperty("--depth", `${(100 * totals[side][i]) / deepest}%`);
      row.append(el("span", "", fmtPrice(price)), el("span", "", fmtQty(qty)), el("span", "", fmtQty(totals[side][i])));
      return row;
    }));
  }
  if (sides.bids.length && sides.asks.length) {
    const [bid, ask] = [sides.bids[0][0], sides.asks[0][0]];
    const spread = (ask - bid).toFixed(priceDigits(bid));
    $("spread").textContent = `spread ${spread} · ${((10000 * (ask - bid)) / ((ask + bid) / 2)).toFixed(1)} bp`;
  } else {
    $("spread").textContent = book ? "one-sided book" : "no book snapshot yet";
  }
}

// ---- health
const listItems = (entries) =>
  entries.flatMap(([name, value, className]) => [el("dt", "", name), el("dd", className || "", value)]);

function fillList(id, entries) {
  $(id).replaceChildren(...listItems(entries));
}

function drawAges() {
  const now = Date.now() * 1000;
  const entries = [["live_trades", "trades"], ["book", "book snapshot"]].map(([stream, name]) => {
    const t = state.last[stream];
    return t ? [name, fmtAge(Math.max(0, now - t)), now - t > STALE_US ? "stale" : ""] : [name, "none yet", "muted"];
  });
  fillList("ages", entries);
  $("book-age").textContent = state.last.book ? `${fmtAge(Math.max(0, now - state.last.book))} old` : "";
}

function drawHealth({ kafka, loaders }) {
  if (kafka) {
    const lag = Object.entries(kafka.lag).map(([topic, n]) => [shortTopic(topic), n.toLocaleString("en-US")]);
    if (kafka.error) lag.push(["error", kafka.error, "stale"]);
    if (kafka.undecodable) lag.push(["undecodable", String(kafka.undecodable), "stale"]);
    fillList("lag", lag.length ? lag : [["topics", "waiting for the live topics", "muted"]]);
  }
  if (loaders) {
    // One block per shard's loader. The server sends each loader's loader-wide samples and those of the selected
    // instrument; hide any whose labels still name another instrument (a stream name such as "btcusdt@depth").
    const others = state.instruments.filter((s) => s !== state.instrument);
    $("loaders").replaceChildren(...loaders.map((loader) => {
      const mine = loader.samples.filter(([, labels]) =>
        !Object.values(labels).some((v) => others.some((s) => v === s || v.startsWith(streamPrefix(s)))));
      const follows = mine.some(([, labels]) => labels.instrument === state.instrument);
      const block = el("div", "loader");
      const title = loader.shard ? `shard ${loader.shard}` : loader.url;
      block.append(el("h4", follows ? "follows" : "", follows ? `${title} · follows ${state.instrument}` : title));
      const list = el("dl", "");
      list.append(...listItems(loader.error ? [["status", loader.error, "muted"]] : mine.slice(0, 20).map(describeSample)));
      block.append(list);
      return block;
    }));
  }
}

// A Prometheus sample as [name, value]: "last event age · aggTrade" = "47 ms", "events · aggTrade" = "38 · 1.9/s".
function describeSample([name, labels, value, rate]) {
  const seconds = /_seconds(_mean)?$/.test(name);
  const label = name.replace(/^streamforge_(live_)?/, "").replace(/_total$/, "").replace("_seconds", "").replaceAll("_", " ");
  const own = streamPrefix(state.instrument);
  const detail = Object.entries(labels).filter(([k]) => k !== "instrument")
    .map(([, v]) => shortTopic(v.startsWith(own) ? v.slice(own.length) : v)).join(" · ");
  const shown = seconds ? fmtAge(value * 1e6) : fmtNumber(value);
  return [detail ? `${label} · ${detail}` : label, rate == null ? shown : `${shown} · ${rate.toFixed(1)}/s`];
}

// "binance.spot.ETHUSDT" -> "ethusdt@", how the exchange's stream names of the instrument begin.
const streamPrefix = (instrument) => `${instrument.split(".").pop().toLowerCase()}@`;

// "streamforge.live-aggtrades.v1" -> "live-aggtrades"; anything else unchanged.
const shortTopic = (name) => name.replace(/^[^.]+\.(.+)\.v\d+$/, "$1");

function fillInstruments(instruments) {
  state.instruments = instruments;
  const select = $("instrument");
  const wanted = [...new Set([...instruments, state.instrument].filter(Boolean))].sort();
  if ([...select.options].map((o) => o.value).join() === wanted.join()) return;
  select.replaceChildren(...wanted.map((s) => el("option", "", s)));
  select.value = state.instrument;
}

// ---- the same asset on the other venues: [{instrument, price, diff_bps}], the shown instrument first
function drawVenues(rows) {
  if (!rows) return;
  fillList("venues", rows.length > 1
    ? rows.map((r, i) => [r.instrument, i === 0 ? fmtPrice(r.price) : `${fmtPrice(r.price)} · ${r.diff_bps >= 0 ? "+" : ""}${r.diff_bps.toFixed(1)} bp`])
    : [["other venues", "none of this asset on the topics", "muted"]]);
}

// ---- a perpetual beside its spot: {spot, perp, spot_price, perp_price, basis, basis_bps, mark}, null without one
function drawPerp(panel) {
  $("perp-panel").hidden = !panel;
  state.nextFunding = panel && panel.mark ? panel.mark.next_funding_time : null;
  drawCountdown();
  if (!panel) return;
  const price = (p) => (p == null ? "—" : fmtPrice(p));
  $("spot-name").textContent = panel.spot;
  $("perp-name").textContent = panel.perp;
  $("spot-price").textContent = price(panel.spot_price);
  $("perp-price").textContent = price(panel.perp_price);
  $("basis").textContent = panel.basis == null ? "—"
    : `${signed(panel.basis, priceDigits(panel.spot_price))} · ${signed(panel.basis_bps, 1)} bp`;
  $("basis").className = panel.basis == null ? "" : panel.basis >= 0 ? "up" : "down";
  const mark = panel.mark;
  $("mark-price").textContent = mark ? fmtPrice(mark.mark_price) : "no mark price yet";
  $("index-price").textContent = mark ? fmtPrice(mark.index_price) : "—";
  $("funding-rate").textContent = mark ? `${signed(mark.funding_rate * 100, 4)}%` : "—";
  $("funding-rate").className = mark ? (mark.funding_rate >= 0 ? "up" : "down") : "";
}

// Counted down by the page every tick, so it moves between the mark-price messages (one a second at most).
function drawCountdown() {
  const node = $("funding-countdown");
  if (state.nextFunding == null) {
    node.textContent = "—";
    return;
  }
  const left = Math.max(0, Math.floor((state.nextFunding / 1000 - Date.now()) / 1000));
  const hms = [Math.floor(left / 3600), Math.floor(left / 60) % 60, left % 60].map((n) => String(n).padStart(2, "0"));
  node.textContent = `in ${hms.join(":")} · ${fmtTime(state.nextFunding).slice(0, 5)} UTC`;
}

// The perpetual's liquidations, [time_us, side, price, qty]: SELL liquidates a long, BUY a short.
function addLiquidations(rows, fresh) {
  const tape = $("liquidations");
  for (const [timeUs, side, price, qty] of rows) {
    const row = el("li", fresh ? "fresh" : "");
    row.title = side === "SELL" ? "a long liquidated" : "a short liquidated";
    row.append(el("span", "time", fmtTime(timeUs)), el("span", side === "SELL" ? "down" : "up", side),
      el("span", "", fmtPrice(price)), el("span", "", fmtQty(qty)));
    tape.prepend(row);
  }
  while (tape.children.length > TAPE_ROWS) tape.lastChild.remove();
}

// ---- the socket
let socket = null;

function subscribe(instrument) {
  state.instrument = instrument;
  const url = new URL(location.href);
  url.searchParams.set("instrument", instrument);
  history.replaceState(null, "", url);
  socket.send(JSON.stringify({ subscribe: instrument }));
}

const handlers = {
  hello(msg) {
    state.instrument = state.instrument || new URL(location.href).searchParams.get("instrument") || msg.instrument;
    fillInstruments(msg.instruments);
    subscribe(state.instrument);
  },
  snapshot(msg) {
    state.candles = new Map(msg.candles.map((r) => [r[0], r]));
    state.price = null;
    state.last = msg.last;
    drawAllCandles();
    if (chart) chart.chart.timeScale().fitContent();
    $("tape").replaceChildren();
    $("last-price").textContent = "—";
    addTrades(msg.trades, false);
    drawBook(msg.book);
    fillInstruments(msg.instruments);
    if (msg.health) drawHealth(msg.health);
    drawVenues(msg.venues);
    $("liquidations").replaceChildren();
    addLiquidations(msg.liquidations, false);
    drawPerp(msg.perp);
  },
  update(msg) {
    mergeCandles(msg.candles);
    addTrades(msg.trades, true);
    if (msg.book) drawBook(msg.book);
    state.last = msg.last;
    drawVenues(msg.venues);
    addLiquidations(msg.liquidations, true);
    drawPerp(msg.perp);
  },
  health(msg) {
    fillInstruments(msg.instruments);
    drawHealth(msg);
  },
};

function connect() {
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  socket.onopen = () => { $("connection").className = "connection live"; $("connection").textContent = "live"; };
  socket.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "hello" || msg.type === "health" || msg.instrument === state.instrument) handlers[msg.type](msg);
  };
  socket.onclose = () => {
    $("connection").className = "connection down";
    $("connection").textContent = "reconnecting…";
    setTimeout(connect, 1000);
  };
}

$("instrument").addEventListener("change", (event) => subscribe(event.target.value));
setInterval(() => { drawAges(); drawCountdown(); }, 250);
connect();
