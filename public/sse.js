// sse.js: the Server-Sent Events client, on the browser's EventSource.
//
// One HTTP response that never ends; the server writes each message into it
// as an event with "id: k3x9AbCd:42": the epoch (the name of the server's id
// sequence, new each time it restarts) and the message id. EventSource
// remembers the last id, and when the stream breaks it reconnects by itself
// after the server's "retry:" hint (2 s), sending that id as Last-Event-ID:
// resume is built in, and because the epoch is inside the id, a restarted
// server can tell that our 42 is not its 42 and answer with a reset event.
// Every event carries an id, the hello and the notices too, so the last id
// is always exactly the position to resume from. This client keeps it as
// well (epoch and cursor), and lets the browser retry once; if that fails
// too, it closes the EventSource and takes over with its own backoff, making
// a new one with ?since=cursor&epoch=E (a new EventSource starts with no
// last id of its own).
//
// Watchdog: the server's ": ping" comments keep proxies awake, but
// EventSource never shows comments to the page, so silence cannot be told
// from death by the stream alone. A quiet feed is silent and healthy. So the
// watchdog asks the server instead: after WATCH_MS with no event, it reads
// the feed's last id from /api/stats; if a message that the server already
// had at the previous check has still not arrived, the stream is dead and
// we reconnect from the cursor. A quiet feed costs one stats request per
// WATCH_MS and never a false alarm; a dead stream is found within about
// 2 x WATCH_MS of the first message it failed to bring.

import { Backoff, HEALTHY_MS, network, request, acquireSlot, withPosition } from './network.js';

const WATCH_MS = 5_000; // silence after which the watchdog checks the feed
const BROWSER_RETRY_MS = 2_000; // the server's retry: hint, for the countdown

export class SSEClient {
  #es = null;          // the current EventSource
  #backoff = new Backoff();
  #timers = [];
  #stopped = true;
  #release = null;     // gives back this client's held-connection slot
  #abort = null;       // withdraws a slot request on stop
  #browserRetries = 0; // errors since the last hello
  #lastHeard = 0;
  #suspect = null;     // a message id the server had at the last check

  constructor({ onmessage, onstate, onnotice }) {
    this.onmessage = onmessage;
    this.onstate = onstate;
    this.onnotice = onnotice;
    this.cursor = null; // the last id received
    this.epoch = null;  // the epoch that cursor counts in
    network.addEventListener('offline', () => this.#fail('offline'));
  }

  // start streams from a position (cursor and epoch; null: from now).
  start(cursor, epoch = null) {
    this.cursor = cursor;
    this.epoch = epoch;
    this.#stopped = false;
    this.#abort = new AbortController();
    this.#connect();
  }

  stop(why = 'stopped') {
    this.#stopped = true;
    this.#abort?.abort();
    this.#close();
    this.#release?.();
    this.#release = null;
    this.onstate(why === 'hidden' ? { name: 'waiting', why } : { name: 'closed' });
  }

  async #connect() {
    this.#close();
    if (network.offline) return this.#retry('offline');
    if (!this.#release) {
      try {
        this.#release = await acquireSlot(this.#abort.signal,
          () => this.onstate({ name: 'waiting', why: 'slot' }));
      } catch { return; } // stopped while waiting
      if (this.#stopped) { this.#release(); this.#release = null; return; }
    }
    const url = withPosition(new URL('api/sse', location.href), this);
    this.onstate({ name: 'connecting' });
    this.onnotice({ type: 'request' });
    const es = new EventSource(url);
    this.#es = es;
    this.#browserRetries = 0;
    es.addEventListener('hello', e => {
      this.#heard();
      this.#keep(e); // where the server starts: our position, or "now" if we had none
      if (this.#browserRetries > 0) this.onnotice({ type: 'resumed-by-browser' });
      this.#browserRetries = 0;
      this.#timers.push(setTimeout(() => this.#backoff.reset(), HEALTHY_MS));
      this.onstate({ name: 'open' });
    });
    es.onmessage = e => {
      this.#heard();
      this.#keep(e);
      this.onmessage(JSON.parse(e.data));
    };
    es.addEventListener('missed', e => {
      this.#heard();
      this.#keep(e); // past the gap: a reconnect now is not told again
      this.onnotice({ type: 'missed', count: JSON.parse(e.data).missed });
    });
    es.addEventListener('reset', e => {
      this.#heard();
      this.#keep(e); // NEW:0, the start of the restarted server's ids
      this.onnotice({ type: 'reset', epoch: this.epoch });
    });
    es.onerror = () => {
      if (es !== this.#es) return;
      // CONNECTING: the browser retries by itself, with Last-Event-ID.
      // CLOSED: it gave up (an HTTP error status, a wrong content type).
      if (es.readyState === EventSource.CONNECTING && this.#browserRetries++ === 0) {
        this.onstate({ name: 'reconnecting', at: Date.now() + BROWSER_RETRY_MS, why: 'browser',
          lastEventID: `${this.epoch}:${this.cursor}` });
        this.onnotice({ type: 'request' });
        return;
      }
      this.#fail('error');
    };
    this.#watch(es);
  }

  // keep takes the position from an event's id, "epoch:id": what the
  // browser would send as Last-Event-ID if the stream broke now.
  #keep(e) {
    const i = e.lastEventId.indexOf(':');
    if (i < 1) return; // not an id of ours
    this.epoch = e.lastEventId.slice(0, i);
    this.cursor = Number(e.lastEventId.slice(i + 1));
  }

  #heard() {
    this.#lastHeard = performance.now();
    this.#suspect = null;
  }

  // watch runs the watchdog described at the top of this file.
  #watch(es) {
    this.#lastHeard = performance.now();
    this.#timers.push(setInterval(async () => {
      if (es !== this.#es || es.readyState !== EventSource.OPEN) return;
      if (performance.now() - this.#lastHeard < WATCH_MS) return;
      let last;
      try {
        ({ feed: { last_id: last } } = await request('api/stats', { timeout: WATCH_MS }));
      } catch { return; } // cannot tell; ask again next time
      if (es !== this.#es) return;
      if (this.#suspect !== null && this.cursor < this.#suspect) {
        this.onnotice({ type: 'watchdog' });
        return this.#fail('dead');
      }
      this.#suspect = last > this.cursor ? last : null;
    }, WATCH_MS));
  }

  // fail abandons the stream and retries with this client's own backoff.
  #fail(why) {
    if (this.#stopped || (!this.#es && why === 'offline')) return;
    this.#close();
    this.#retry(why);
  }

  #retry(why) {
    if (this.#stopped) return;
    const delay = this.#backoff.next();
    this.onstate({ name: 'reconnecting', at: Date.now() + delay, why });
    this.#timers.push(setTimeout(() => this.#connect(), delay));
  }

  #close() {
    for (const t of this.#timers) { clearTimeout(t); clearInterval(t); }
    this.#timers = [];
    this.#es?.close();
    this.#es = null;
  }
}
