// poll.js: the short-polling client.
//
// On a timetable (every 3 s by default) it asks GET /api/poll?since=cursor
// &epoch=E "anything after my cursor?" and the server answers at once, often
// with an empty list. Each answer's "next" and "epoch" are the position for
// the following request (see deliverPage in network.js for why a cursor
// travels with its epoch). An answer with "more":true was cut short (by
// limit, or by the server's cap on bytes per answer) and more are waiting:
// it asks again at once. Counting the messages to guess that would be wrong
// both ways: a page cut by bytes holds fewer than limit, and a full page may
// be all there is. A failed request is retried with backoff instead of the
// timetable.
//
// Nothing is held open between requests, so there is nothing to cut and no
// heartbeat to watch: every request is its own proof of life. Each one has
// a deadline, so a request lost in a broken network cannot stall the loop.

import { Backoff, network, request, sleep, HTTPError, deliverPage, withPosition } from './network.js';

const LIMIT = 100;         // messages per answer
const TIMEOUT_MS = 10_000; // deadline of one request

export class PollClient {
  #backoff = new Backoff();
  #abort = null; // stops the loop

  constructor({ onmessage, onstate, onnotice }) {
    this.onmessage = onmessage;
    this.onstate = onstate;
    this.onnotice = onnotice;
    this.cursor = null; // the last id received
    this.epoch = null;  // the epoch that cursor counts in
    this.interval = 3_000; // ms between polls; the page's control sets it
  }

  // start polls from a position: cursor (the last id already had) and the
  // epoch it belongs to; null for either reads from now, without a check.
  start(cursor, epoch = null) {
    this.cursor = cursor;
    this.epoch = epoch;
    this.#abort = new AbortController();
    this.#loop(this.#abort.signal).catch(() => {}); // ends when stopped
  }

  stop() {
    this.#abort?.abort();
    this.onstate({ name: 'closed' });
  }

  async #loop(signal) {
    this.onstate({ name: 'connecting' });
    while (!signal.aborted) {
      let page;
      try {
        const url = withPosition(new URL('api/poll', location.href), this);
        url.searchParams.set('limit', LIMIT);
        this.onnotice({ type: 'request' });
        page = await request(url, { timeout: TIMEOUT_MS, signal });
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof HTTPError && err.status >= 400 && err.status < 500 && err.status !== 429) {
          this.onstate({ name: 'closed', code: err.status, reason: err.message });
          return; // our request is wrong: repeating it will not help
        }
        const delay = this.#backoff.next();
        this.onstate({ name: 'reconnecting', at: Date.now() + delay, why: network.offline ? 'offline' : 'error' });
        await sleep(delay, signal);
        this.onstate({ name: 'connecting' });
        continue;
      }
      this.#backoff.reset(); // a whole request and answer: healthy
      deliverPage(this, page);
      if (page.more) { // more are waiting: ask again at once
        this.onstate({ name: 'open', next: Date.now() });
        continue;
      }
      const at = Date.now() + this.interval;
      this.onstate({ name: 'open', next: at });
      await this.#wait(at, signal);
    }
  }

  // wait sleeps until the page clock reaches at, re-reading the interval so
  // that a shorter one set meanwhile takes effect now.
  async #wait(at, signal) {
    const set = this.interval;
    while (Date.now() < at) {
      await sleep(Math.min(250, at - Date.now()), signal);
      if (this.interval !== set) return;
    }
  }
}
