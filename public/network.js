// network.js: what the four clients share about the network itself (the
// protocol is in each client's file, and the interface in client.js).
//
//   - the "offline for 10 s" switch, a pretend network failure;
//   - request(), one fetch with a deadline that honours the switch;
//   - the held-connection slots that keep tabs from hanging each other on
//     HTTP/1.1's six connections per host, and not needed over HTTP/2;
//   - NextHop, the protocol that carried a client's requests, as the
//     browser measured it;
//   - Backoff, the reconnect delay every client uses.

// Backoff is exponential backoff with full jitter: the n-th retry in a row
// waits a random time between 0 and min(cap, base * 2^n). The randomness
// spreads a crowd of clients that all lost the server at the same moment,
// so they do not all come back at the same moment either.
export class Backoff {
  constructor(base = 500, cap = 20_000) {
    this.base = base; // ms: the ceiling of the first retry
    this.cap = cap;   // ms: the ceiling never grows past this
    this.attempt = 0;
  }

  // next returns the delay in ms before the next attempt.
  next() {
    const ceiling = Math.min(this.cap, this.base * 2 ** this.attempt);
    this.attempt++;
    return Math.random() * ceiling;
  }

  // reset starts over at the smallest delay: call it once a connection has
  // proved healthy, not merely opened (a server that accepts and then fails
  // at once must not be hammered).
  reset() { this.attempt = 0; }
}

// HEALTHY_MS is how long a connection must stay up before its backoff resets.
export const HEALTHY_MS = 5_000;

// ---------------------------------------------------------------------------
// The offline switch. While it is on, every attempt to connect fails at once
// and open connections are cut, as when a laptop leaves the Wi-Fi. Each
// client then shows its backoff, and its resume from its cursor afterwards.

class Network extends EventTarget {
  #until = 0; // page clock (ms) at which the pretend network comes back

  get offline() { return Date.now() < this.#until; }
  get offlineUntil() { return this.#until; }

  goOffline(ms) {
    this.#until = Date.now() + ms;
    this.dispatchEvent(new Event('offline'));
    setTimeout(() => this.dispatchEvent(new Event('online')), ms);
  }
}

export const network = new Network();

// The browser's own "online" (a laptop back on the Wi-Fi) means the same as
// the switch's end: every client tries again now.
window.addEventListener('online', () => {
  if (!network.offline) network.dispatchEvent(new Event('online'));
});

export class OfflineError extends Error {
  constructor() { super('offline (the page\'s offline switch)'); this.name = 'OfflineError'; }
}

// HTTPError is an answer with a status other than 2xx. retryAfter is its
// Retry-After in seconds, null without one: when the server asks the
// client to come back (fourway's 503 at its connection limit: 1 to 10 s).
// starting is the reason of a server still starting (a 503 with "status":
// "starting": its feed is not open yet), null otherwise.
export class HTTPError extends Error {
  constructor(status, message, retryAfter = null, starting = null) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
    this.starting = starting;
    this.name = 'HTTPError';
  }
}

// startingOf is the reason in a 503 body of a server still starting, or
// null.
export function startingOf(status, body) {
  return status === 503 && body?.status === 'starting' ? String(body.reason ?? '') : null;
}

// retryAfterOf reads a Retry-After header (RFC 9110) in seconds: whole
// seconds, as fourway sends it, or a date; null when there is none.
export function retryAfterOf(header) {
  if (header === null) return null;
  if (/^\d+$/.test(header.trim())) return Number(header);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

// briefRequests holds the start time of every short request in flight
// (polls, publishes, stats): one that takes seconds on loopback is stuck
// in the browser's queue, not at the server. The page watches this.
export const briefRequests = new Set();

// request fetches url with a deadline and returns the parsed JSON body. It
// fails at once while offline, and is cut when the switch goes on.
// Options: timeout (ms), signal (to stop it), brief (short request: tracked
// for the six-connection check), onanswer (called with the Response before
// its body is read, for its headers), method, body, headers.
export async function request(url, { timeout = 10_000, signal, brief = true, onanswer, ...init } = {}) {
  if (network.offline) throw new OfflineError();
  const cut = new AbortController();
  const onOffline = () => cut.abort(new OfflineError());
  network.addEventListener('offline', onOffline);
  const signals = [cut.signal, AbortSignal.timeout(timeout)];
  if (signal) signals.push(signal);
  const entry = { started: performance.now() };
  if (brief) briefRequests.add(entry);
  try {
    const res = await fetch(url, { ...init, cache: 'no-store', signal: AbortSignal.any(signals) });
    onanswer?.(res);
    const text = await res.text();
    const retryAfter = res.ok ? null : retryAfterOf(res.headers.get('Retry-After'));
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HTTPError(res.status, res.ok ? 'the answer is not JSON' : res.statusText, retryAfter);
    }
    if (!res.ok) throw new HTTPError(res.status, body.error || res.statusText, retryAfter, startingOf(res.status, body));
    return body;
  } catch (err) {
    if (cut.signal.aborted) throw cut.signal.reason;
    throw err;
  } finally {
    briefRequests.delete(entry);
    network.removeEventListener('offline', onOffline);
  }
}

// sleep waits ms, or less if signal aborts (then it rejects).
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });
}

// ---------------------------------------------------------------------------
// Held-connection slots.
//
// Over HTTP/1.1 a browser opens at most six connections to one host, shared
// by all its tabs. An SSE stream or a waiting long poll keeps one busy the
// whole time, so each tab of this page holds two. Three tabs would hold all
// six, and every other request (short polls, publishes, stats) would wait in
// the browser's queue, silently, until a long poll came back.
//
// So the held connections of all tabs share HELD_SLOTS named locks (the Web
// Locks API, which the browser shares between the tabs of one origin):
// holding a slot is the right to hold a connection open. Two connections
// always stay free for short requests. A client that finds no free slot
// says so ("waiting for a free connection") instead of hanging.
// (WebSockets do not count: browsers pool them apart.)
//
// Over HTTP/2 (or HTTP/3) none of this applies: the browser sends every
// request of every tab to this server as a stream of one connection, up to
// the server's limit of concurrent streams (at least 100 in Go), so a held
// request keeps nothing else waiting. The page knows which it got from its
// own load: Resource Timing's nextHopProtocol of the navigation, "h2" or
// "http/1.1" (over TLS the server offers both, and the browser picks one
// with ALPN). Then the slots are open: acquireSlot takes none.

export const HELD_SLOTS = 4;

// pageProtocol is the protocol this page itself came over, as the browser
// measured it ("h2", "http/1.1"), or null if it does not say (a page from
// a cache).
export const pageProtocol = performance.getEntriesByType('navigation')[0]?.nextHopProtocol || null;

// multiplexed tells whether this page's requests share one connection
// (HTTP/2 or HTTP/3), which has no six-per-host limit to share.
export const multiplexed = pageProtocol === 'h2' || pageProtocol === 'h3';

// acquireSlot resolves with a release function once this client holds a
// slot. onWait is called if none was free at once. Over HTTP/2, and
// without the Web Locks API (a page not on https or localhost), there is
// no sharing: it resolves at once.
export function acquireSlot(signal, onWait) {
  if (!navigator.locks || multiplexed) return Promise.resolve(() => {});
  return new Promise((resolve, reject) => {
    let held = false;
    const others = new AbortController(); // withdraws the requests not granted
    const waiting = setTimeout(() => onWait?.(), 150);
    for (let i = 0; i < HELD_SLOTS; i++) {
      const withdraw = AbortSignal.any([others.signal, signal].filter(Boolean));
      navigator.locks.request(`fourway-held-${i}`, { signal: withdraw }, () => {
        if (held || signal?.aborted) return; // got two at once: give this one back
        held = true;
        clearTimeout(waiting);
        others.abort();
        // The slot is held until the promise below resolves.
        return new Promise(release => resolve(release));
      }).catch(() => {}); // withdrawn: nothing to do
    }
    signal?.addEventListener('abort', () => {
      if (!held) { clearTimeout(waiting); reject(signal.reason); }
    }, { once: true });
  });
}

// slotsWanted tells whether a client of some tab waits for a slot.
export async function slotsWanted() {
  if (!navigator.locks || multiplexed) return false;
  const { pending = [] } = await navigator.locks.query();
  return pending.some(l => l.name.startsWith('fourway-held-'));
}

// ---------------------------------------------------------------------------
// The protocol of each request.
//
// NextHop follows the requests of one client through Resource Timing: the
// browser makes one entry per request, with the protocol that carried it
// (nextHopProtocol: "h2", "http/1.1", "h3"), once its response has ended.
// So a poll's protocol is known just after its answer; an SSE stream's only
// once it ends (an open stream has no entry yet), and a request given up
// (aborted) has an entry with no protocol, which is skipped. WebSockets
// have no entry at all. Fetch and EventSource show no such thing on the
// response itself, and the entries are the browser's own measure, not the
// server's claim.
//
// A client tells its NextHop each URL it asks for (asked); an entry of one
// of its last URLs is taken as its own. (Two clients of one tab asking for
// the same URL at once, such as the auto panel's long poll beside the long
// poll's, travel to the same origin, and so over the same protocol.)
const ASKED_KEPT = 16; // URLs remembered per client: more than it has in flight

export class NextHop {
  #asked = new Set(); // the client's last URLs, absolute
  protocol = null;    // of its last request whose entry came
  ended = null;       // performance.now() at which that response ended
  compressed = null;  // {encoded, decoded}: the body sizes of its last response that came compressed

  constructor() {
    new PerformanceObserver(list => {
      for (const e of list.getEntries()) {
        if (!this.#asked.has(e.name) || !e.nextHopProtocol) continue;
        this.protocol = e.nextHopProtocol;
        this.ended = e.responseEnd;
        if (e.encodedBodySize > 0 && e.encodedBodySize < e.decodedBodySize) { // smaller on the wire: compressed
          this.compressed = { encoded: e.encodedBodySize, decoded: e.decodedBodySize };
        }
      }
    }).observe({ type: 'resource' });
  }

  // asked tells of a request for url (a URL or a string).
  asked(url) {
    const href = new URL(url, location.href).href;
    this.#asked.delete(href); // re-added as the newest
    this.#asked.add(href);
    if (this.#asked.size > ASKED_KEPT) this.#asked.delete(this.#asked.values().next().value);
  }
}
