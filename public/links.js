// links.js: the emulated links in front of the server (fourway --links;
// transports/links), as the page sees them. Each link is a port of its own
// on 127.0.0.1 that forwards to the server, slower: the page loaded
// through it reaches the same server, and every request, stream and
// WebSocket of that page crosses the link. So the page changes its network
// by reloading itself through another link's URL, and all five panels are
// then on the same link at once, comparable.
//
// What crosses the link is the reader's side. The built-in ticker
// publishes inside the server, on the fast path; a message sent from this
// page goes up through the link too, since this page is the reader's.
//
// The latency the bench measured through each link (public/links-bench.json,
// made from bench/results/links-2026-12-07b's report by a test) is what the
// guide expects of each transport on the link the page is on.

// onLink is the link of config (GET /api/config) that this page was
// loaded through, or null when it came straight from the server.
export function onLink(config) {
  return (config.links ?? []).find(l => sameOrigin(l.url, location.href)) ?? null;
}

function sameOrigin(a, b) {
  try { return new URL(a).origin === new URL(b).origin; } catch { return false; }
}

// directURL is the server's own address, the way back from a link: this
// page's, when it is not on a link; on a link, the one the page came from
// (?direct=, set by linkURL). A link forwards to a server on the same
// machine, so only a loopback address or this page's own host is taken:
// the page never sends a reader to an address a crafted link named.
// null when it is not known (a link's URL opened by hand).
export function directURL(config) {
  if (!onLink(config)) return new URL('/', location.href).href;
  const given = new URLSearchParams(location.search).get('direct');
  if (!given) return null;
  let u;
  try { u = new URL(given); } catch { return null; }
  const local = ['127.0.0.1', 'localhost', '[::1]', location.hostname];
  if (!['http:', 'https:'].includes(u.protocol) || !local.includes(u.hostname)) return null;
  if ((config.links ?? []).some(l => sameOrigin(l.url, u.href))) return null;
  return new URL('/', u).href;
}

// linkURL is the address of this page through link (null: the server's
// own address, direct), keeping this page's other query settings.
export function linkURL(link, direct) {
  const q = new URLSearchParams(location.search);
  q.delete('direct');
  const base = link ? link.url : direct;
  const u = new URL(base);
  if (link && direct) q.set('direct', direct);
  u.search = q.toString();
  return u.href;
}

// measured is the bench's rows for a link like link (the same round trip
// and bandwidths: train is 4g between its outages) at the measured rate
// nearest to rate (on a log scale: 3 a second is nearer 1 than 10), or
// null when the run measured no such link. It returns {rate, rounds, as
// (the measured link's name), rows: {key: {p50: [ms...], p99: [ms...],
// requests_per_msg: [...]}}}, one figure per round.
export function measured(bench, link, rate) {
  if (!bench || !link) return null;
  const spec = bench.links.find(s => s.rtt_ms === link.rtt_ms &&
    (s.down_kbps ?? 0) === (link.down_kbps ?? 0) && (s.up_kbps ?? 0) === (link.up_kbps ?? 0));
  if (!spec) return null;
  const distance = r => Math.abs(Math.log(r.rate) - Math.log(Math.max(rate, 0.01)));
  const nearest = bench.rates.filter(r => r.rows[spec.name]).sort((a, b) => distance(a) - distance(b))[0];
  if (!nearest) return null;
  return { rate: nearest.rate, rounds: nearest.rounds, as: spec.name, rows: nearest.rows[spec.name] };
}

// span is the smallest and largest of the figures of one row, [lo, hi].
export function span(values) {
  return [Math.min(...values), Math.max(...values)];
}

// How each client can notice a silent link, in the order the page checks
// a client's signs (Panel.tunnelSign in app.js), and how long after the
// silence began (TestPageTunnel holds each client to its rule):
//
//   heartbeat  the WebSocket's own ping went unanswered: nothing at all
//              heard for two periods (heartbeat_ms of the hello, the
//              server's --heartbeat), checked once a period (ws.js), so
//              2 to 3 periods after the last frame; auto's WebSocket alike;
//   watchdog   the SSE watchdog's checks went unanswered while the stream
//              was silent (sse.js). EventSource shows a page no comment,
//              so the server's keepalive_ms cannot be watched; after 5 s
//              with no event the watchdog asks /api/stats (deadline 5 s),
//              which crosses the same silent link and gets no answer, asks
//              again at once, and gives the stream up after two such
//              checks: 15 s after the last event;
//   deadline   a short poll's request got no answer within its deadline
//              (poll.js, 10 s): 10 s after the request on its way, or
//              after the next one, which goes within an interval;
//   lpTimeout  a long poll's request got no answer within its hold plus
//              its grace (longpoll.js: the server's hold and 5 s), counted
//              from when it was sent, which may be before the silence;
//   failed     a request or connection failed otherwise;
//   bytes      not at all: it learnt of the silence only when the held
//              bytes came back, late.
export const NOTICED = ['heartbeat', 'watchdog', 'deadline', 'lpTimeout', 'failed', 'bytes'];
