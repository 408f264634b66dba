// verdict.js: "which transport should I pick?", answered with numbers.
//
// The reader says what the feed must do: its direction (server to client,
// or both ways), messages per second, clients, whether a proxy sits in
// between, whether the page is served over HTTP/2, and whether a phone's
// battery matters. The answer comes from rules a reader can check, and
// each rule quotes the figures that decide it:
//
//   - both ways: WebSocket, the only one of the four that carries messages
//     both ways on one connection (the others publish with one POST each,
//     a whole request per message up); behind a proxy, with long polling as
//     the fallback, because a proxy may not pass the Upgrade;
//   - one way: Server-Sent Events (plain HTTP, the browser resumes by
//     itself), unless WebSocket's smaller framing saves more than
//     SAVING_MBPS at this rate and these clients and no proxy is in the way;
//     behind a proxy, with long polling as the fallback;
//   - without HTTP/2, every tab holds one of the browser's six connections
//     per host for SSE or a long poll: said, with the WebSocket's exemption;
//   - battery: a phone's radio wakes for every request and every message
//     or heartbeat; the figures say how often per minute, per transport.
//
// The figures per message are the page's live ones (its cost window) when
// it has them, else the bench's last report (bench-report.json, a copy of
// bench/results/report.json, embedded); the timing rules (poll interval,
// SSE keepalive, WebSocket heartbeat, long-poll hold) are the page's and
// the server's settings.

export const SAVING_MBPS = 1; // one-way: WebSocket instead of SSE only if it saves more than this
export const KEYS = ['poll', 'longpoll', 'sse', 'ws'];

// HEARTBEAT_BYTES are the bytes of one heartbeat period per client, by
// the protocols' rules (the wire inspector shows each of them): SSE's
// ": ping\n\n" in its chunk (8 + 5); WebSocket's server ping and the
// browser's pong (2 + 6, no payload), and this page's {"type":"ping"} and
// the server's {"type":"pong"} (6 + 15 and 2 + 15). The cost window
// (app.js) uses them too where the server cannot count its heartbeats
// (over TLS with HTTP/1.1); elsewhere it takes the server's count.
export const HEARTBEAT_BYTES = { sse: 8 + 5, ws: 2 + 6 + 21 + 17 };

// figures computes, for each transport at the reader's rate, what one
// client costs a minute: requests, radio wake-ups, overhead bytes, and the
// Mbps of overhead for all clients. per is {key: {overhead, perRequest,
// p50, source}}; timing is {interval, keepalive, heartbeat, hold} in s.
export function figures({ rate, clients }, per, timing) {
  const perMinute = 60 * rate;
  const out = {};
  for (const k of KEYS) {
    const f = per[k] ?? {};
    let requests = 0, wakeups, bytes;
    switch (k) {
      case 'poll':
        requests = 60 / timing.interval;
        wakeups = requests; // every poll wakes the radio, message or not
        bytes = requests * (f.perRequest ?? 0);
        break;
      case 'longpoll':
        requests = rate > 0 ? perMinute : 60 / timing.hold; // one answer per message, or per hold on a quiet feed
        wakeups = requests;
        bytes = requests * (f.perRequest ?? 0);
        break;
      case 'sse':
        wakeups = perMinute + 60 / timing.keepalive;
        bytes = perMinute * (f.overhead ?? 0) + 60 / timing.keepalive * HEARTBEAT_BYTES.sse;
        break;
      case 'ws':
        wakeups = perMinute + 2 * 60 / timing.heartbeat;
        bytes = perMinute * (f.overhead ?? 0) + 60 / timing.heartbeat * HEARTBEAT_BYTES.ws;
        break;
    }
    out[k] = { requests, wakeups, bytes, mbps: clients * bytes * 8 / 60 / 2 ** 20, p50: f.p50 ?? null, source: f.source ?? null };
  }
  return out;
}

// verdict returns the pick and its reasons, each {key, params} for the
// page's words, given the reader's answers and the figures above.
export function verdict(q, fig) {
  const reasons = [];
  let pick;
  let fallback = null;
  if (q.direction === 'both') {
    pick = 'ws';
    reasons.push({ key: 'v.both' });
  } else {
    const saving = fig.sse.mbps - fig.ws.mbps;
    if (!q.proxy && saving > SAVING_MBPS) {
      pick = 'ws';
      reasons.push({ key: 'v.wsSaves', params: { mbps: saving.toFixed(2), limit: SAVING_MBPS } });
    } else {
      pick = 'sse';
      reasons.push({ key: 'v.oneWay', params: { mbps: Math.max(0, saving).toFixed(2), limit: SAVING_MBPS } });
    }
  }
  if (q.proxy) {
    fallback = 'longpoll';
    reasons.push({ key: pick === 'ws' ? 'v.proxyWS' : 'v.proxySSE' });
  }
  if (!q.http2 && pick !== 'ws') reasons.push({ key: 'v.sixConn' });
  if (q.battery) {
    reasons.push({ key: 'v.battery', params: {
      poll: Math.round(fig.poll.wakeups), pick: Math.round(fig[pick].wakeups),
    } });
  }
  return { pick, fallback, reasons };
}
