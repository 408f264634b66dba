// verdict.js: "which transport should I pick?", answered with numbers that
// hold still.
//
// The reader says what the feed must do: its direction (server to client,
// or both ways), messages per second, clients, how long a connection
// lives, whether a proxy sits in between, whether the page is served over
// HTTP/2, and whether a phone's battery matters. The answer comes from
// rules a reader can check, and each rule quotes the figures that decide
// it:
//
//   - both ways: WebSocket, the only one of the four that carries messages
//     both ways on one connection (the others publish with one POST each,
//     a whole request per message up); behind a proxy, with long polling as
//     the fallback, because a proxy may not pass the Upgrade;
//   - one way: Server-Sent Events (plain HTTP, the browser resumes by
//     itself), unless WebSocket's smaller framing saves more than
//     SAVING_MBPS at this rate and these clients and no proxy is in the way;
//     behind a proxy, with long polling as the fallback;
//   - battery: a phone's radio wakes for every message and heartbeat that
//     arrives, and transmits for every request it sends, which costs it
//     more than receiving. Of the three that deliver at once (long polling,
//     SSE, WebSocket; both ways, WebSocket alone), the pick is the one with
//     the fewest wake-ups and requests a minute together (then the fewest
//     requests): long polling on a quiet feed (a request per hold, no
//     heartbeat), SSE or WebSocket on a busy one (a long poll's request per
//     message). Short polling is late by design (up to its interval): its
//     wake-ups are said, not ranked;
//   - without HTTP/2, every tab holds one of the browser's six connections
//     per host for SSE or a long poll: said, with the WebSocket's exemption.
//
// The figures are steady-state ones, so the same answers give the same
// pick minute after minute and after a cut: the bench's per-message
// overhead (bench-report.json, a copy of bench/results/report.json,
// embedded; the page says which run and machine), each connection's
// handshake spread over the lifetime the reader gives, and the heartbeats
// by the server's rule (GET /api/config: heartbeats, keepalive_ms,
// heartbeat_ms). The timing rules (poll interval, long-poll hold) are the
// page's controls.

export const SAVING_MBPS = 1; // one-way: WebSocket instead of SSE only if it saves more than this
export const KEYS = ['poll', 'longpoll', 'sse', 'ws'];

// figures computes, for each transport at the reader's rate, what one
// client costs a minute: requests, radio wake-ups, overhead bytes, and the
// Mbps of overhead for all clients. per is {key: {overhead, perRequest,
// handshake, p50}} (bytes per message, per request, per connection; ms);
// timing is {interval, keepalive, heartbeat, hold} in s, {lifetime} in
// minutes, and {heartbeats: {sse_bytes, ws_bytes}} as /api/config says.
export function figures({ rate, clients }, per, timing) {
  const perMinute = 60 * rate;
  const out = {};
  for (const k of KEYS) {
    const f = per[k] ?? {};
    const handshakes = (f.handshake ?? 0) / timing.lifetime; // a connection's handshake, per minute of its life
    let requests = 0, wakeups, bytes;
    switch (k) {
      case 'poll':
        requests = 60 / timing.interval;
        wakeups = requests; // every poll wakes the radio, message or not
        bytes = requests * (f.perRequest ?? 0);
        break;
      case 'longpoll':
        // One answer per message, or one per hold when none comes within it.
        requests = Math.max(perMinute, 60 / timing.hold);
        wakeups = requests;
        bytes = requests * (f.perRequest ?? 0);
        break;
      case 'sse':
        wakeups = perMinute + 60 / timing.keepalive;
        bytes = perMinute * (f.overhead ?? 0) + 60 / timing.keepalive * timing.heartbeats.sse_bytes + handshakes;
        break;
      case 'ws': // the server's ping and this page's JSON ping: two a period
        wakeups = perMinute + 2 * 60 / timing.heartbeat;
        bytes = perMinute * (f.overhead ?? 0) + 60 / timing.heartbeat * timing.heartbeats.ws_bytes + handshakes;
        break;
    }
    out[k] = { requests, wakeups, bytes, mbps: clients * bytes * 8 / 60 / 2 ** 20, p50: f.p50 ?? null };
  }
  return out;
}

// rank orders keys by what the reader cares for: radio wake-ups and
// requests a minute, then requests, when the battery matters; else
// overhead bytes.
export function rank(keys, fig, battery) {
  const events = k => fig[k].wakeups + fig[k].requests;
  const by = battery
    ? (a, b) => events(a) - events(b) || fig[a].requests - fig[b].requests
    : (a, b) => fig[a].bytes - fig[b].bytes;
  return [...keys].sort(by);
}

// verdict returns the pick and its reasons, each {key, params} for the
// page's words, given the reader's answers and the figures above. Numbers
// in params are numbers: the page writes them in its language.
export function verdict(q, fig) {
  const reasons = [];
  let pick;
  if (q.direction === 'both') {
    pick = 'ws';
    reasons.push({ key: 'v.both' });
  } else {
    const saving = fig.sse.mbps - fig.ws.mbps;
    if (!q.proxy && saving > SAVING_MBPS) {
      pick = 'ws';
      reasons.push({ key: 'v.wsSaves', params: { mbps: saving, limit: SAVING_MBPS } });
    } else {
      pick = 'sse';
      reasons.push({ key: 'v.oneWay', params: { mbps: Math.max(0, saving), limit: SAVING_MBPS } });
    }
    const frugal = rank(['longpoll', 'sse', 'ws'], fig, true)[0];
    if (q.battery && frugal !== pick) { // the battery decides, and says so with its counts
      pick = frugal;
      const events = k => fig[k].wakeups + fig[k].requests;
      reasons.splice(0, reasons.length, { key: `v.battery.${pick}`, params: {
        events: events(pick), wakeups: fig[pick].wakeups, requests: fig[pick].requests,
        longpoll: events('longpoll'), sse: events('sse'), ws: events('ws'),
      } });
    }
  }
  let fallback = null;
  if (q.proxy && pick !== 'longpoll') {
    fallback = 'longpoll';
    reasons.push({ key: pick === 'ws' ? 'v.proxyWS' : 'v.proxySSE' });
  }
  if (!q.http2 && pick !== 'ws') reasons.push({ key: 'v.sixConn' });
  if (q.battery) reasons.push({ key: 'v.battery', params: { poll: fig.poll.wakeups, pick: fig[pick].wakeups } });
  return { pick, fallback, reasons };
}
