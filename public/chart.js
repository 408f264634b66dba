// chart.js: a small live latency chart, hand-written on a canvas.
//
// One dot per message over the last minute, on a logarithmic scale from
// 0.1 ms to 30 s: a WebSocket's dots sit near the bottom, a 3 s poll's are
// smeared up to 3 s, and an outage shows as a column of late arrivals. All
// four panels use the same scale, so they can be compared at a glance. The
// time axis runs from a minute ago to now; the p50 and p99 of the panel are
// dashed lines across. Dots shrink and fade as they crowd (20 messages a
// second is 1,200 dots a minute), so a dense band still shows its spread.

export const WINDOW_MS = 60_000;
const MIN_MS = 0.1;
const MAX_MS = 30_000;
const Y_TICKS = [1, 10, 100, 1000, 10_000, 30_000];    // ms
const X_TICKS = [60_000, 45_000, 30_000, 15_000, 0];     // ms before now
const FONT_PX = 12;

// draw paints points ({at: page time in ms, ms: latency}) as of now, in
// color, with lines at the quantiles in lines ({p50, p99}, ms or null).
// label(ms) writes a latency tick, ago(ms) a time tick, in the page's
// language. What it drew is left on the canvas's data-* for the curious and
// the tests: data-y-ticks, data-x-ticks (the labels drawn), data-x-boxes
// (where, [left, right] in CSS px), data-lines, data-dot, data-font (the
// labels' size in CSS px, as drawn).
export function draw(canvas, points, now, color, { lines = {}, label, ago }) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (w === 0 || h === 0) return;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);

  const style = getComputedStyle(canvas);
  g.font = `${FONT_PX}px ${style.fontFamily}`;
  const yLabels = Y_TICKS.map(label);
  const left = 6 + Math.max(...yLabels.map(l => g.measureText(l).width)); // room for the axis labels
  const top = FONT_PX / 2 + 2, bottom = h - FONT_PX - 6, right = w - 4;
  const lo = Math.log10(MIN_MS), hi = Math.log10(MAX_MS);
  const y = ms => bottom - (Math.log10(Math.min(MAX_MS, Math.max(MIN_MS, ms))) - lo) / (hi - lo) * (bottom - top);
  const x = at => left + (1 - (now - at) / WINDOW_MS) * (right - left);
  const grid = style.getPropertyValue('--grid') || '#ddd';

  g.lineWidth = 1;
  g.fillStyle = style.color;
  g.textBaseline = 'middle';
  g.textAlign = 'right';
  let lastLabel = -Infinity; // from the top: a label that would touch the one above is left out
  const labelled = [];
  for (let i = Y_TICKS.length - 1; i >= 0; i--) {
    const at = Math.round(y(Y_TICKS[i])) + 0.5;
    g.strokeStyle = grid;
    g.beginPath();
    g.moveTo(left, at);
    g.lineTo(right, at);
    g.stroke();
    if (at - lastLabel < FONT_PX + 3) continue;
    g.fillText(yLabels[i], left - 4, at);
    labelled.unshift(yLabels[i]);
    lastLabel = at;
  }
  // The time labels, "now" first, then a minute ago, then the middle ones
  // where there is room: a label that would touch one already drawn is
  // left out, so that none overlap at any width ("−60 s−45 s").
  const xLabels = X_TICKS.map(ago);
  g.textBaseline = 'bottom';
  const boxes = [];
  for (const i of [X_TICKS.length - 1, 0, 2, 1, 3]) {
    const at = Math.round(x(now - X_TICKS[i])) + 0.5;
    const width = g.measureText(xLabels[i]).width;
    const x0 = i === 0 ? at : i === X_TICKS.length - 1 ? at - width : at - width / 2;
    if (boxes.some(b => x0 < b.x1 + 6 && b.x0 < x0 + width + 6)) continue;
    boxes.push({ i, text: xLabels[i], x0, x1: x0 + width });
  }
  boxes.sort((a, b) => a.i - b.i);
  X_TICKS.forEach((before, i) => {
    const at = Math.round(x(now - before)) + 0.5;
    g.strokeStyle = grid;
    g.beginPath();
    g.moveTo(at, top);
    g.lineTo(at, bottom);
    g.stroke();
  });
  g.textAlign = 'left';
  for (const b of boxes) g.fillText(b.text, b.x0, h);

  const shown = points.filter(p => now - p.at <= WINDOW_MS);
  // About one dot per 3 px of width before they shrink: at 20 msg/s the
  // dots are 1 px and faint, and where they pile up the band darkens.
  const crowd = shown.length / Math.max(1, right - left);
  const r = crowd > 0.3 ? 1 : crowd > 0.1 ? 1.5 : 2.5;
  g.globalAlpha = crowd > 0.3 ? 0.45 : crowd > 0.1 ? 0.7 : 1;
  g.fillStyle = color;
  for (const p of shown) {
    g.beginPath();
    g.arc(x(p.at), y(p.ms), r, 0, 2 * Math.PI);
    g.fill();
  }
  g.globalAlpha = 1;

  const drawn = [];
  let labelAt = left + 2;
  g.setLineDash([4, 3]);
  g.strokeStyle = color;
  g.fillStyle = style.color;
  g.textAlign = 'left';
  g.textBaseline = 'bottom';
  for (const [name, ms] of Object.entries(lines)) {
    if (ms === null || ms === undefined) continue;
    const at = Math.round(y(ms)) + 0.5;
    g.beginPath();
    g.moveTo(left, at);
    g.lineTo(right, at);
    g.stroke();
    g.fillText(name, labelAt, at - 1); // side by side: p50 and p99 may be one line
    labelAt += g.measureText(name).width + 8;
    drawn.push(name);
  }
  g.setLineDash([]);

  const d = canvas.dataset;
  d.yTicks = labelled.join('|');
  d.xTicks = boxes.map(b => b.text).join('|'); // the labels drawn
  d.xBoxes = JSON.stringify(boxes.map(b => [Math.round(b.x0 * 10) / 10, Math.round(b.x1 * 10) / 10]));
  d.lines = drawn.join('|');
  d.dot = r;
  d.font = Number.parseFloat(g.font); // the labels' px, as the canvas took them
}
