// poll.js: the short-polling client.
//
// On a timetable (every 3 s by default) it asks GET /api/poll?since=cursor
// "anything after my cursor?" and the server answers at once, often with an
// empty list. Each answer's "next" is the cursor for the following request.
// A full page (limit messages) means more are waiting: it asks again at once.
// A failed request is retried with backoff instead of the timetable.
//
// Nothing is held open between requests, so there is nothing to cut and no
// heartbeat to watch: every request is its own proof of life. Each one has
// a deadline, so a request lost in a broken network cannot stall the loop.

import { Backoff, network, request, sleep, HTTPError, deliverPage } from './network.js';

const LIMIT = 100;         // messages per answer
const TIMEOUT_MS = 10_000; // deadline of one request

export class PollClient {
  #backoff = new Backoff();
  #abort = null; // stops the loop

  constructor({ onmessage, onstate, onnotice }) {
    this.onmessage = onmessage;
    this.onstate = onstate;
    this.onnotice = onnotice;
    this.cursor = null;
    this.interval = 3_000; // ms between polls; the page's control sets it
  }

  start(cursor) {
    this.cursor = cursor;
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
        const url = new URL('api/poll', location.href);
        if (this.cursor !== null) url.searchParams.set('since', this.cursor);
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
      if (page.messages.length === LIMIT) { // more are waiting: ask again at once
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
