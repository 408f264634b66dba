// chart.js: a small live latency chart, hand-written on a canvas.
//
// One dot per message over the last minute, on a logarithmic scale from
// 0.1 ms to 30 s: a WebSocket's dots sit near the bottom, a 3 s poll's are
// smeared up to 3 s, and an outage shows as a column of late arrivals. All
// four panels use the same scale, so they can be compared at a glance.

export const WINDOW_MS = 60_000;
const MIN_MS = 0.1;
const MAX_MS = 30_000;
const GRID = [[1, '1 ms'], [10, '10 ms'], [100, '100 ms'], [1000, '1 s'], [10_000, '10 s']];

// draw paints points ({at: page time in ms, ms: latency}) as of now.
export function draw(canvas, points, now, color) {
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

  const left = 40; // room for the axis labels
  const lo = Math.log10(MIN_MS), hi = Math.log10(MAX_MS);
  const y = ms => h - 4 - (Math.log10(Math.min(MAX_MS, Math.max(MIN_MS, ms))) - lo) / (hi - lo) * (h - 8);
  const x = at => left + (1 - (now - at) / WINDOW_MS) * (w - left - 4);

  const style = getComputedStyle(canvas);
  g.font = `10px ${style.fontFamily}`;
  g.textBaseline = 'middle';
  g.lineWidth = 1;
  for (const [ms, label] of GRID) {
    g.strokeStyle = style.getPropertyValue('--grid') || '#ddd';
    g.beginPath();
    g.moveTo(left, Math.round(y(ms)) + 0.5);
    g.lineTo(w, Math.round(y(ms)) + 0.5);
    g.stroke();
    g.fillStyle = style.color;
    g.fillText(label, 2, y(ms));
  }

  g.fillStyle = color;
  for (const p of points) {
    if (now - p.at > WINDOW_MS) continue;
    g.beginPath();
    g.arc(x(p.at), y(p.ms), 2, 0, 2 * Math.PI);
    g.fill();
  }
}
