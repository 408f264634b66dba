// longpoll.js: the long-polling client, beside transports/longpoll.go.
//
// It asks GET /api/longpoll?since=cursor&epoch=E&timeout=S and the server
// holds the request until a message after the cursor exists (then answers at
// once) or S seconds pass (then answers with an empty list). The client asks
// again at once with the answer's "next" and "epoch", so one request is
// nearly always waiting at the server, and a message arrives about one round
// trip after its publish. An answer with "more":true was cut short and the
// server already has more: the next request comes back at once with them.
// S starts at the server's default hold and the page's control may change
// it, up to the server's maximum (both from GET /api/config).
//
// The first request of a session asks for a 1 s timeout: until the server
// answers, a long poll cannot tell "held, all is well" from "stuck", so a
// quick first answer proves the server is there and the cursor is good.
// Every request has a deadline of its timeout plus GRACE_MS: an answer that
// does not come by then is lost, and the client retries with backoff. The
// waiting request holds one of the browser's six connections to this host,
// so the client first takes a held-connection slot (see network.js).

import { Client, withPosition } from './client.js';
import { request, acquireSlot } from './network.js';
import { deliverPage } from './page.js';

const GRACE_MS = 5_000; // beyond the timeout, before an answer counts as lost

// timeouts is what the server allows for ?timeout=, in whole seconds (GET
// /api/config has ms): its hold when a request names none, and the longest.
export function timeouts({ longpoll }) {
  return {
    default: Math.max(1, Math.round(longpoll.timeout_ms / 1000)),
    max: Math.max(1, Math.floor(longpoll.timeout_max_ms / 1000)),
  };
}

export class LongPollClient extends Client {
  timeout = timeouts(this.config).default; // s the server may hold a request; the page's control sets it

  async run(signal) {
    const release = await acquireSlot(signal, () => this.onstate({ name: 'waiting', why: 'slot' }));
    try {
      await this.#loop(signal);
    } finally {
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
        url.searchParams.set('timeout', timeout);
        this.onnotice({ type: 'request' });
        page = await request(url, { timeout: timeout * 1000 + GRACE_MS, signal, brief: false });
      } catch (err) {
        first = true;
        if (await this.retryAfter(err, signal)) continue;
        return;
      }
      this.backoff.reset();
      first = false;
      deliverPage(this, page);
      this.onstate({ name: 'open', held: this.timeout });
    }
  }
}
