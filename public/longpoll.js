// longpoll.js: the long-polling client.
//
// It asks GET /api/longpoll?since=cursor&epoch=E&timeout=S and the server
// holds the request until a message after the cursor exists (then answers at
// once) or S seconds pass (then answers with an empty list). The client asks
// again at once with the answer's "next" and "epoch", so one request is
// nearly always waiting at the server, and a message arrives about one round
// trip after its publish. An answer with "more":true was cut short and the
// server already has more: the next request comes back at once with them.
//
// The first request of a session asks for a 1 s timeout: until the server
// answers, a long poll cannot tell "held, all is well" from "stuck", so a
// quick first answer proves the server is there and the cursor is good.
// Every request has a deadline of its timeout plus GRACE_MS: an answer that
// does not come by then is lost, and the client retries with backoff. The
// waiting request holds one of the browser's six connections to this host,
// so the client first takes a held-connection slot (see network.js).

import { Backoff, network, request, sleep, acquireSlot, HTTPError, deliverPage, withPosition } from './network.js';

const LIMIT = 100;
const GRACE_MS = 5_000; // beyond the timeout, before an answer counts as lost

export class LongPollClient {
  #backoff = new Backoff();
  #abort = null;

  constructor({ onmessage, onstate, onnotice }) {
    this.onmessage = onmessage;
    this.onstate = onstate;
    this.onnotice = onnotice;
    this.cursor = null; // the last id received
    this.epoch = null;  // the epoch that cursor counts in
    this.timeout = 30; // s the server may hold a request; the page's control sets it
  }

  // start long-polls from a position (cursor and epoch; null: from now).
  start(cursor, epoch = null) {
    this.cursor = cursor;
    this.epoch = epoch;
    this.#abort = new AbortController();
    this.#run(this.#abort.signal);
  }

  stop(why = 'stopped') {
    this.#abort?.abort();
    this.onstate(why === 'hidden' ? { name: 'waiting', why } : { name: 'closed' });
  }

  async #run(signal) {
    let release;
    try {
      release = await acquireSlot(signal, () => this.onstate({ name: 'waiting', why: 'slot' }));
    } catch { return; } // stopped while waiting
    try {
      await this.#loop(signal);
    } catch { /* stopped */ } finally {
      release();
    }
  }

  async #loop(signal) {
    let first = true; // the first request after start or a failure
    this.onstate({ name: 'connecting' });
    while (!signal.aborted) {
      const timeout = first ? 1 : this.timeout;
      let page;
      try {
        const url = withPosition(new URL('api/longpoll', location.href), this);
        url.searchParams.set('limit', LIMIT);
        url.searchParams.set('timeout', timeout);
        this.onnotice({ type: 'request' });
        page = await request(url, { timeout: timeout * 1000 + GRACE_MS, signal, brief: false });
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof HTTPError && err.status >= 400 && err.status < 500 && err.status !== 429) {
          this.onstate({ name: 'closed', code: err.status, reason: err.message });
          return;
        }
        first = true;
        const delay = this.#backoff.next();
        this.onstate({ name: 'reconnecting', at: Date.now() + delay, why: network.offline ? 'offline' : 'error' });
        await sleep(delay, signal);
        this.onstate({ name: 'connecting' });
        continue;
      }
      this.#backoff.reset();
      first = false;
      deliverPage(this, page);
      this.onstate({ name: 'open', held: this.timeout });
    }
  }
}
