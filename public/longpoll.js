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
// A held request that the server cuts (a network failure, POST /api/drop)
// does not fail in the page: the browser sends it again by itself, because
// HTTP/1.1 lets a client re-send a request whose kept-alive connection
// closed before any answer (RFC 9112, 9.3.1). The page sees only a late
// answer. Resource Timing tells: that request was sent (requestStart) long
// after the fetch began (startTime), the time it was held before the cut.
// The client says so ('resent'), with the cursor the re-sent request carried.
//
// The first request of a session asks for a 1 s timeout: until the server
// answers, a long poll cannot tell "held, all is well" from "stuck", so a
// quick first answer proves the server is there and the cursor is good.
// Every request has a deadline of its timeout plus GRACE_MS: an answer that
// does not come by then is lost, and the client retries with backoff. The
// waiting request holds one of the browser's six connections to this host,
// so the client first takes a held-connection slot (see network.js; over
// HTTP/2 it is only a stream, and no slot is needed). As for a short poll,
// each request's protocol is the browser's measure (NextHop), and each
// answer's Fourway-Node names the node that held it.
//
// A 503 with Retry-After: 0 is the server's goodbye (a node that lost its
// feed's broker): the client asks again at once, from its cursor, with no
// backoff: behind a proxy the request lands on another node. A second one
// in a row, with no answer between, goes by the backoff, so a server that
// keeps saying it is not asked in a loop. A 503 with Retry-After: N (1 to
// 10) is the server at its connection limit, which refused the request
// before holding it: the client waits N s, or its backoff if that is
// longer (client.js), and asks again from its cursor.

import { Client, withPosition } from './client.js';
import { HTTPError, NextHop, request, acquireSlot } from './network.js';
import { deliverPage } from './page.js';

const GRACE_MS = 5_000; // beyond the timeout, before an answer counts as lost
const RESENT_MS = 250;  // a request sent this long after its fetch began was re-sent

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
  inflight = null; // the request at the server now: {url, started (performance.now()), timeout (ms)}
  hop = new NextHop();

  constructor(callbacks, config) {
    super(callbacks, config);
    new PerformanceObserver(list => {
      for (const e of list.getEntries()) this.#resent(e);
    }).observe({ type: 'resource' });
  }

  // resent tells of a request of ours that the browser had to send again.
  #resent(e) {
    if (e.initiatorType !== 'fetch' || !e.name.includes('/api/longpoll?')) return;
    if (!(e.requestStart > 0) || e.requestStart - e.startTime < RESENT_MS) return;
    const q = new URL(e.name).searchParams;
    this.onnotice({ type: 'resent', held: e.requestStart - e.startTime, cursor: q.get('since'), epoch: q.get('epoch') });
  }

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
    let goodbyes = 0;  // goodbyes in a row, with no answer between
    this.onstate({ name: 'connecting' });
    while (!signal.aborted) {
      const timeout = first ? 1 : this.timeout;
      let page;
      try {
        const url = withPosition(new URL('api/longpoll', location.href), this);
        url.searchParams.set('timeout', timeout);
        this.onnotice({ type: 'request' });
        this.inflight = { url: url.href, started: performance.now(), timeout: timeout * 1000 };
        this.hop.asked(url);
        page = await request(url, {
          timeout: timeout * 1000 + GRACE_MS, signal, brief: false,
          onanswer: res => { this.node = res.headers.get('Fourway-Node'); },
        });
        this.inflight = null;
      } catch (err) {
        this.inflight = null;
        first = true;
        if (err instanceof HTTPError && err.status === 503 && err.retryAfter === 0 && goodbyes++ === 0) {
          this.onnotice({ type: 'goodbye', how: 'HTTP 503', reason: err.message, cursor: this.cursor });
          if (signal.aborted) return;
          this.onstate({ name: 'connecting' });
          continue;
        }
        if (await this.retryAfter(err, signal)) continue;
        return;
      }
      goodbyes = 0;
      this.backoff.reset();
      first = false;
      deliverPage(this, page);
      this.onstate({ name: 'open', held: this.timeout });
    }
  }
}
