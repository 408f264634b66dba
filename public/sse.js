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
import { HEALTHY_MS, HTTPError, NextHop, network, request, acquireSlot, retryAfterOf, sleep, startingOf } from './network.js';

const WATCH_MS = 5_000; // silence after which the watchdog checks the feed, and each check's deadline
const UNANSWERED = 2;   // checks in a row with no answer, the stream silent, after which it is dead

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
  // the watchdog asks the server instead. After WATCH_MS with no event it
  // reads the feed's last id from /api/stats, with a deadline of WATCH_MS,
  // and judges the stream by the answer, or by its absence:
  //
  //   - an answer whose last id the stream had not reached: the server has
  //     a message we have not seen. Not yet a sign (it may be on its way),
  //     but if it is still missing at the next check, WATCH_MS later, the
  //     stream is dead. A quiet feed costs one stats request per WATCH_MS
  //     and never a false alarm.
  //   - no answer within the deadline, and no event either: the link may
  //     have gone silent both ways (a tunnel: every byte held, nothing
  //     closed, so EventSource sees no error). The watchdog asks again at
  //     once, and after UNANSWERED checks in a row with no answer, while
  //     the stream said nothing all along, the stream is dead.
  //
  // A dead stream is closed and opened again from the cursor, which is
  // lossless: the server replays what the stream missed. Through a silent
  // link that is WATCH_MS + UNANSWERED x WATCH_MS after the last event,
  // 15 s: 14 to 15 s after the silence began when the feed ticks every
  // second (measured once on cable: 14.1 s; TestPageTunnel, with a message
  // every 250 ms, 14.8 to 15.0 s in four runs).
  //
  // Why two checks and not one. A check waits in the browser like any
  // request, and over HTTP/1.1 the browser opens only six connections per
  // host: a check queued behind them would be no answer from a healthy
  // server. The held-connection slots (network.js) keep two connections free
  // for short requests, which answer in milliseconds on a healthy server, so
  // a check does not wait long for its turn: with two tabs open (every slot
  // taken, a short poll and the page's stats every second in each), the
  // slowest of eight checks took 15 to 125 ms in three runs, and no stream
  // was given up (TestPageSSEWatchdogQuietWhenHealthy). (Without the slots,
  // on a page over plain http from another host, where browsers give no Web
  // Locks, three tabs could hold all six, and checks would queue.) Two checks
  // make 10 s without a word from the server, the short poll's own deadline
  // (poll.js, TIMEOUT_MS): the stream gets as much patience as a poll. A
  // server slow to answer (no stats within 5 s, twice in a row, on a quiet
  // feed) costs one reconnect, which loses nothing, and the new stream's
  // hello starts the count over: a server that stays that slow costs one
  // every 15 s.
  #lastHeard = 0;
  #suspect = null;  // a message id the server had at the last check
  #unanswered = 0;  // checks in a row with no answer, the stream silent all along
  #watching = null; // stops the watchdog of the current EventSource

  #heard() {
    this.#lastHeard = performance.now();
    this.#suspect = null;
    this.#unanswered = 0;
  }

  // watch keeps the watchdog over es until it is closed: it waits for
  // WATCH_MS of silence and checks; after a check that got no answer it
  // checks again at once, after any other a whole WATCH_MS later.
  async #watch(es) {
    const stop = (this.#watching = new AbortController()).signal;
    this.#heard();
    let pause = 0; // the wait before the next check, besides the silence
    while (!stop.aborted) {
      const quiet = performance.now() - this.#lastHeard;
      if (es.readyState !== EventSource.OPEN) pause = WATCH_MS; // the browser is reconnecting by itself
      if (quiet < WATCH_MS || pause > 0) {
        await sleep(Math.max(WATCH_MS - quiet, pause), stop).catch(() => {});
        pause = 0;
        continue;
      }
      const verdict = await this.#check(stop);
      if (stop.aborted) return;
      if (verdict === 'dead') {
        this.onnotice({ type: 'watchdog' });
        return this.#fail('dead');
      }
      if (verdict === 'wait') pause = WATCH_MS;
    }
  }

  // check asks the server for the feed's last id and tells what that says
  // of the stream: 'dead'; 'again', no answer (ask again at once); or
  // 'wait', nothing wrong as far as it can tell.
  async #check(stop) {
    const asked = performance.now();
    let last;
    try {
      ({ feed: { last_id: last } } = await request('api/stats', { timeout: WATCH_MS, signal: stop }));
    } catch (err) {
      const silent = err.name === 'TimeoutError' && this.#lastHeard < asked; // no answer, and no event meanwhile
      this.#unanswered = silent ? this.#unanswered + 1 : 0; // another failure (an error status, offline) is not silence
      if (!silent) return 'wait';
      return this.#unanswered >= UNANSWERED ? 'dead' : 'again';
    }
    this.#unanswered = 0;
    if (this.#suspect !== null && this.cursor < this.#suspect) return 'dead';
    this.#suspect = last > this.cursor ? last : null;
    return 'wait';
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
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
    this.#watching?.abort();
    this.#watching = null;
    this.#es?.close();
    this.#es = null;
  }
}
