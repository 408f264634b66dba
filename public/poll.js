// poll.js: the short-polling client, beside transports/poll.go.
//
// On a timetable (every 3 s by default) it asks GET /api/poll?since=cursor
// &epoch=E "anything after my cursor?" and the server answers at once, often
// with an empty list. Each answer's "next" and "epoch" are the position for
// the following request (page.js says why a cursor travels with its epoch).
// An answer with "more":true was cut short (by the server's page size, or
// its cap on bytes per answer) and more are waiting: it asks again at once.
// Counting the messages to guess that would be wrong both ways: a page cut
// by bytes holds fewer than the page size, and a full page may be all there
// is. A failed request is retried with backoff instead of the timetable.
//
// Nothing is held open between requests, so there is nothing to cut and no
// heartbeat to watch: every request is its own proof of life. Each one has
// a deadline, so a request lost in a broken network cannot stall the loop.
// Each one may travel differently: its protocol is the browser's measure
// of it (NextHop), and behind a proxy each answer names the node that gave
// it (Fourway-Node), which may change from one poll to the next.

import { Client, withPosition } from './client.js';
import { NextHop, request, sleep } from './network.js';
import { deliverPage } from './page.js';

const TIMEOUT_MS = 10_000; // deadline of one request

export class PollClient extends Client {
  interval = 3_000; // ms between polls; the page's control sets it
  inflight = null;  // the request on its way now: {url, started (performance.now()), timeout (ms)}
  hop = new NextHop();

  async run(signal) {
    this.onstate({ name: 'connecting' });
    while (!signal.aborted) {
      let page;
      try {
        this.onnotice({ type: 'request' });
        const url = withPosition(new URL('api/poll', location.href), this);
        this.inflight = { url: url.href, started: performance.now(), timeout: TIMEOUT_MS };
        this.hop.asked(url);
        page = await request(url, { timeout: TIMEOUT_MS, signal, onanswer: res => { this.node = res.headers.get('Fourway-Node'); } });
        this.inflight = null;
      } catch (err) {
        this.inflight = null;
        if (await this.retryAfter(err, signal)) continue;
        return;
      }
      this.backoff.reset(); // a whole request and answer: healthy
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
