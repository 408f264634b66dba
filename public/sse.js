// sse.js: the Server-Sent Events client, beside transports/sse.go.
//
// One HTTP response that never ends, read by the browser's EventSource. The
// server writes each message into it as an event, a few lines and a blank
// line:
//
//   id: k3x9AbCd:42
//   data: {"id":42,"time":1763773323456.789,"data":"hi"}
//
// The id is the epoch (the name of the server's id sequence, new each time
// it restarts) and the message id. EventSource remembers the last id, and
// when the stream breaks it reconnects by itself after the server's
// "retry:" delay, sending that id as Last-Event-ID: resume is built in, and
// because the epoch is inside the id, a restarted server can tell that our
// 42 is not its 42 and answers with a reset. Every event carries an id, so
// the last id is always exactly the position to resume from:
//
//   event: hello   {"next":41,"epoch":"k3x9AbCd","retry_ms":2000,"keepalive_ms":15000,"proto":"HTTP/1.1"}
//   (no event:)    a message, for EventSource's onmessage
//   event: missed  {"missed":K}
//   event: reset   {"reset":true,"epoch":"NEW"}
//   event: end     {"reason":"...","reconnect":"now"}   the server's goodbye
//
// An end event is a node that can no longer serve the feed (cut from its
// broker) saying so before it ends the stream: this client reconnects at
// once, from the end event's id, without waiting for the browser's retry
// or a backoff; behind a proxy the new stream lands on another node.
//
// This client keeps the position too, and lets the browser retry once; if
// that fails as well, it closes the EventSource and takes over with its own
// backoff, making a new one with ?since=cursor&epoch=E (a new EventSource
// starts with no last id). The stream holds one of the browser's six
// connections to this host, so the client first takes a held-connection
// slot (see network.js; over HTTP/2 the stream is one of a connection's
// many, and needs none); a watchdog finds a stream that died silently.
//
// A server at its connection limit refuses a stream with 503 and says in
// Retry-After when to come back. EventSource shows a page neither the
// status nor the headers of an answer it refused, so this client asks once
// more with a plain request, which reads both (refused): it then waits at
// least that long. What it cannot govern is the browser's own retry after
// a stream that broke: EventSource reconnects by itself after the hello's
// retry: delay, with no word from the server in between (if that one is
// refused, the client takes over as above).
//
// The hello names the node that serves the stream when several serve the
// feed ("node":"b"). The stream's protocol is the browser's measure of it
// (NextHop), which comes only once a stream has ended: while the first one
// is open it is not known yet.

import { Client, failure, withPosition } from './client.js';
import { HEALTHY_MS, HTTPError, NextHop, network, request, acquireSlot, retryAfterOf, startingOf } from './network.js';

const WATCH_MS = 5_000; // silence after which the watchdog checks the feed

export class SSEClient extends Client {
  #es = null;          // the current EventSource
  #retryMS = null;     // its hello's retry_ms: when the browser will retry by itself
  #browserRetries = 0; // errors since its last hello
  #timers = [];        // of the current EventSource
  #session = null;     // the signal of the current run
  #release = null;     // gives back this client's held-connection slot
  hop = new NextHop();  // its streams' protocol, each known once it has ended

  constructor(callbacks, config) {
    super(callbacks, config);
    network.addEventListener('offline', () => this.#fail('offline'));
  }

  // What the page shows of the inside of this client: the EventSource
  // itself (readyState, url, lastEventId through the events), and the
  // server's retry hint from the hello.
  get source() { return this.#es; }
  get retryHint() { return this.#retryMS; }

  async run(signal) {
    this.#session = signal;
    signal.addEventListener('abort', () => {
      this.#close();
      this.#release?.();
      this.#release = null;
    }, { once: true });
    await this.#connect();
  }

  async #connect() {
    this.#close();
    if (network.offline) return this.#retry('offline');
    if (!await this.#holdSlot()) return;
    const url = withPosition(new URL('api/sse', location.href), this);
    this.onstate({ name: 'connecting' });
    this.onnotice({ type: 'request' });
    const es = new EventSource(url);
    this.hop.asked(url); // and the browser's own retries, which ask for the same URL
    this.#es = es;
    this.lastEventId = ''; // a new EventSource starts with none: the position is in its URL
    this.#retryMS = null;
    this.#browserRetries = 0;
    es.addEventListener('hello', e => {
      const hello = this.#take(e); // where the server starts: our position, or "now" if we had none
      this.#retryMS = hello.retry_ms;
      this.node = hello.node ?? null;
      this.saidProto = hello.proto ?? null; // the server's word: the browser tells of a stream only once it ends
      if (this.#browserRetries > 0) this.onnotice({ type: 'resumed-by-browser' });
      this.#browserRetries = 0;
      this.#timers.push(setTimeout(() => this.backoff.reset(), HEALTHY_MS));
      this.onstate({ name: 'open' });
    });
    es.onmessage = e => this.onmessage(this.#take(e));
    es.addEventListener('missed', e => { // past the gap: a reconnect now is not told again
      this.onnotice({ type: 'missed', missed: this.#take(e).missed });
    });
    es.addEventListener('reset', e => { // its id is NEW:0, the start of the restarted server's ids
      this.onnotice({ type: 'reset', epoch: this.#take(e).epoch });
    });
    es.addEventListener('end', e => { // the server's goodbye; its id is where to resume
      const end = this.#take(e);
      this.onnotice({ type: 'goodbye', how: 'event: end', reason: end.reason, cursor: this.cursor });
      if (end.reconnect !== 'now') {
        this.#close();
        return this.#retry('goodbye', { reason: end.reason });
      }
      this.backoff.reset();
      this.#connect(); // closes this EventSource first, before the browser retries by itself
    });
    es.onerror = () => {
      if (es !== this.#es) return;
      // CONNECTING: the browser retries by itself, after the hello's retry_ms,
      // with Last-Event-ID. CLOSED: it gave up (an HTTP error status, a wrong
      // content type). Before any hello the delay is the browser's own.
      if (es.readyState === EventSource.CONNECTING && this.#retryMS !== null && this.#browserRetries++ === 0) {
        this.onstate({ name: 'reconnecting', at: Date.now() + this.#retryMS, why: 'browser',
          lastEventID: `${this.epoch}:${this.cursor}` });
        this.onnotice({ type: 'request' });
        return;
      }
      if (es.readyState === EventSource.CLOSED && !network.offline) return this.#refused(url);
      this.#fail('error');
    };
    this.#watch(es);
  }

  // refused: EventSource gave up on an answer it would not read (a status
  // other than 200, another content type) and does not say which, nor shows
  // its headers. One plain request to the same URL tells: it is dropped once
  // its status is in (a 200 would be a stream of its own). A 503 is the
  // server still starting, when its body says so, or else at its connection
  // limit, and the panel says which; its Retry-After is the wait the server
  // asks for, and the retry waits that long at least. It is the probe's
  // own: the server draws a wait for each refusal (transports/CONTRACT.md,
  // "At the connection limit"), and the EventSource's was never seen.
  async #refused(url) {
    this.#close();
    const session = this.#session;
    let why = 'error', details = {};
    try {
      this.onnotice({ type: 'request' });
      const probe = new AbortController();
      const res = await fetch(url, { cache: 'no-store', signal: AbortSignal.any([probe.signal, session, AbortSignal.timeout(WATCH_MS)]) });
      const body = res.ok ? null : await res.json().catch(() => null);
      const retryAfter = res.ok ? null : retryAfterOf(res.headers.get('Retry-After'));
      probe.abort();
      // Said as every client says a failed request (client.js, failure).
      [why, details] = failure(new HTTPError(res.status, body?.error ?? (res.ok ? '' : res.statusText), retryAfter, startingOf(res.status, body)));
    } catch { /* no answer at all: a plain failure */ }
    if (session.aborted) return;
    this.#retry(why, details);
  }

  // take reads one event: it keeps the position from the event's id,
  // "epoch:id" (what the browser would send as Last-Event-ID if the stream
  // broke now), and returns the event's data.
  lastEventId = ''; // the id of the last event: what the browser's own retry sends as Last-Event-ID

  #take(e) {
    this.#heard();
    this.lastEventId = e.lastEventId;
    const i = e.lastEventId.indexOf(':');
    if (i >= 1) { // an id of ours
      this.epoch = e.lastEventId.slice(0, i);
      this.cursor = Number(e.lastEventId.slice(i + 1));
    }
    return JSON.parse(e.data);
  }

  // holdSlot takes a held-connection slot unless this client has one, and
  // tells whether it holds one now (not when stopped meanwhile).
  async #holdSlot() {
    if (this.#release) return true;
    const session = this.#session;
    let release;
    try {
      release = await acquireSlot(session, () => this.onstate({ name: 'waiting', why: 'slot' }));
    } catch { return false; } // stopped while waiting
    if (session.aborted) { release(); return false; }
    this.#release = release;
    return true;
  }

  // The watchdog. The server's ": ping" comments keep proxies awake, but
  // EventSource never shows comments to the page, so silence cannot be told
  // from death by the stream alone: a quiet feed is silent and healthy. So
  // the watchdog asks the server instead: after WATCH_MS with no event, it
  // reads the feed's last id from /api/stats; if a message that the server
  // already had at the previous check has still not arrived, the stream is
  // dead and we reconnect from the cursor. A quiet feed costs one stats
  // request per WATCH_MS and never a false alarm; a dead stream is found
  // within about 2 x WATCH_MS of the first message it failed to bring,
  // when the check gets through. Over a link gone silent (a tunnel) the
  // check gets no answer either, which tells nothing: that stream learns
  // of the silence only when the held bytes come back.
  #lastHeard = 0;
  #suspect = null; // a message id the server had at the last check

  #heard() {
    this.#lastHeard = performance.now();
    this.#suspect = null;
  }

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
    if (this.stopped || (!this.#es && why === 'offline')) return;
    this.#close();
    this.#retry(why);
  }

  #retry(why, details = {}) {
    if (this.stopped) return;
    this.retryLater(why, details, () => this.#connect());
  }

  #close() {
    for (const t of this.#timers) { clearTimeout(t); clearInterval(t); }
    this.#timers = [];
    this.#es?.close();
    this.#es = null;
  }
}
