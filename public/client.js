// client.js: the one interface of the four clients (poll.js, longpoll.js,
// sse.js, ws.js), and the little they share. The page (app.js) drives all
// four the same way:
//
//   const client = new SSEClient({ onmessage, onstate, onnotice }, config);
//   client.start(cursor, epoch); // read after cursor, the last id already had,
//                                // which counts in epoch (the server's id
//                                // sequence); null, null: from now, unchecked
//   client.stop(why);            // 'stopped' (the default): closed until the
//                                // next start; 'hidden': a held connection lent
//                                // to another tab; 'paused': the page's pause
//                                // (both: state waiting)
//   client.cursor, client.epoch  // the position now, kept from what arrived:
//                                // start(client.cursor, client.epoch) resumes
//   client.protocol              // what carried its last request, as the
//                                // browser measured it ("h2", "http/1.1":
//                                // network.js, NextHop); null until known,
//                                // and always for a WebSocket, which has no
//                                // such measure (it is HTTP/1.1: ws.js)
//   client.node                  // the node that served it, when the server
//                                // names one (the hello's "node", or a poll
//                                // answer's Fourway-Node header); null for
//                                // a server alone
//
// config is the server's GET /api/config, read once by the page before any
// client starts: what a client must not guess (the long poll's timeouts,
// what each WebSocket close code means and whether to reconnect after it).
//
// A client tells the page what happens through the three callbacks:
//
//   onmessage(m)  each message, {id, time, data}, in order
//   onstate(s)    each change of state; s.name is one of
//                   'connecting'
//                   'open'          poll: {next}, the page clock (ms) of the
//                                   next poll; long poll: {held}, the hold
//                                   asked for (s); WebSocket: {heartbeat} (ms)
//                   'waiting'       {why}: 'slot' (no free held connection,
//                                   see network.js), 'hidden' (lent) or
//                                   'paused'
//                   'reconnecting'  {at, wait, why}: the next attempt at page
//                                   clock at (ms), wait ms from now (none
//                                   for 'browser'); why is 'offline', 'error'
//                                   ({status} when the server answered with
//                                   one, {deadline: true} when no answer came
//                                   by the request's deadline), 'busy' (503: the server is at its
//                                   connection limit), 'starting' (503:
//                                   the server's feed is not open yet,
//                                   {reason}), 'goodbye' (the
//                                   server said why it ended, {reason}),
//                                   'dead' (a watchdog),
//                                   'browser' (EventSource retries by itself,
//                                   {lastEventID}) or 'close' (a WebSocket
//                                   close, {code}); {retryAfter} (s) when
//                                   the server said how long to wait at
//                                   least (a 503's Retry-After, a close
//                                   1013's reason), which wait is not under
//                   'closed'        {code, reason} when it gave up for good:
//                                   an HTTP status (4xx) or a WebSocket close
//                                   code; neither after stop()
//   onnotice(n)   each event worth counting; n.type is one of
//                   'request'             an HTTP request or connection attempt
//                   'empty'               an answer with no message
//                   'missed'              {missed}: that many were older than
//                                         the server keeps
//                   'reset'               {epoch}: the server restarted, and
//                                         its ids start over in epoch
//                   'resumed-by-browser'  EventSource's own retry worked
//                   'watchdog'            a silent connection given up
//                   'goodbye'             {how, code, reason, cursor}: the server ended
//                                         the connection saying why (a WebSocket
//                                         close whose code says "now", an SSE end
//                                         event, a 503 with Retry-After: 0), and the
//                                         client reconnects at once from cursor
//                   'resent'              {held, cursor, epoch}: the server cut a
//                                         held request after held ms, and the
//                                         browser sent it again by itself
//                                         (longpoll.js)
//                   'answer'              {framing}: a poll answer came, with the
//                                         bytes of its JSON around the messages
//                   'upgraded', 'fellBack' {code}: auto.js switched engines
//                   'error'               {error}: a WebSocket error frame

import { Backoff, HTTPError, network } from './network.js';

// Client is what the four clients extend: the callbacks, the position, the
// backoff and its one retry timer, start and stop. Each one adds
// run(signal), its own way of reading, which goes on until signal aborts.
//
// A client waits for at most one retry at a time (retryLater), never
// sooner than the server asked: a server at its connection limit says when
// to come back, each refused client a wait of its own
// (transports/CONTRACT.md, "Close codes" and "At the connection limit"), to
// spread a crowd it refused at once over seconds, and a client that came
// back sooner would undo that. When the
// network comes back (the page's offline switch ends, or the browser says
// "online"), every client retries at once with a fresh backoff: the delays
// it grew while every attempt failed say nothing about a network that works
// again.
export class Client {
  #session = null; // aborted by stop(): ends everything the run started
  #retry = null;   // the pending retry: {timer, fn, at}
  #retryTimers = new Set(); // retry timers set that have neither fired nor been cleared

  constructor({ onmessage, onstate, onnotice }, config) {
    this.onmessage = onmessage;
    this.onstate = onstate;
    this.onnotice = onnotice;
    this.config = config;
    this.cursor = null; // the last id received
    this.epoch = null;  // the epoch that cursor counts in
    this.node = null;   // the node of the last hello or answer
    this.hop = null;    // a NextHop, for the clients whose requests have a protocol to measure
    this.backoff = new Backoff();
    network.addEventListener('online', () => this.retryNow());
  }

  start(cursor, epoch = null) {
    this.#session?.abort();
    this.cursor = cursor;
    this.epoch = epoch;
    const session = new AbortController();
    this.#session = session;
    session.signal.addEventListener('abort', () => this.cancelRetry(), { once: true });
    this.run(session.signal).catch(err => {
      if (!session.signal.aborted) throw err; // a bug: let the page see it
    });
  }

  stop(why = 'stopped') {
    this.#session?.abort();
    this.onstate(why === 'hidden' || why === 'paused' ? { name: 'waiting', why } : { name: 'closed' });
  }

  get protocol() { return this.hop?.protocol ?? null; }

  // stopped tells whether the client is between a stop() and a start().
  get stopped() { return this.#session?.signal.aborted ?? true; }

  // retryLater announces the next attempt and calls fn then; a retry
  // already pending is replaced: one timer at a time. details go with the
  // state. The wait is the backoff's next delay, or the server's hint when
  // it asked for longer (details.retryAfter, in seconds): the server's hint
  // first, and the client's own backoff still grows under it, so a server
  // that keeps refusing is asked less and less often.
  retryLater(why, details, fn) {
    this.cancelRetry();
    const delay = Math.max(this.backoff.next(), (details.retryAfter ?? 0) * 1000);
    const at = Date.now() + delay;
    const timer = this.retryTimer(() => { this.#retry = null; fn(); }, delay);
    this.#retry = { timer, fn, at };
    this.onstate({ name: 'reconnecting', at, wait: delay, why, ...details });
  }

  // retryAt is the page clock (ms) of the pending retry, null if none.
  get retryAt() { return this.#retry?.at ?? null; }

  // retriesPending is how many retry timers this client holds now: set
  // (retryTimer) and neither fired nor cleared. One at most, by the rule
  // above; the page shows it, and its tests hold it to that.
  get retriesPending() { return this.#retryTimers.size; }

  // retryTimer calls fn after ms, counted in retriesPending until it fires
  // or clearRetryTimer clears it: every timer that starts a retry is one.
  retryTimer(fn, ms) {
    const timer = setTimeout(() => { this.#retryTimers.delete(timer); fn(); }, ms);
    this.#retryTimers.add(timer);
    return timer;
  }

  clearRetryTimer(timer) {
    clearTimeout(timer);
    this.#retryTimers.delete(timer);
  }

  cancelRetry() {
    if (this.#retry) this.clearRetryTimer(this.#retry.timer);
    this.#retry = null;
  }

  // retryNow starts the pending retry now, with a fresh backoff.
  retryNow() {
    this.backoff.reset();
    const r = this.#retry;
    if (!r || this.stopped || network.offline) return;
    this.cancelRetry();
    r.fn();
  }

  // retryAfter is what a failed request means, for the clients that make
  // requests (the polls). An answer 4xx other than 429 says the request
  // itself is wrong, and repeating it will not help: the client closes and
  // resolves false. Anything else (no network, a deadline, 5xx, 429) is
  // retried after the backoff, or the answer's Retry-After if that is
  // longer: it resolves true when it is time.
  async retryAfter(err, signal) {
    if (signal.aborted) return false;
    if (err instanceof HTTPError && err.status >= 400 && err.status < 500 && err.status !== 429) {
      this.onstate({ name: 'closed', code: err.status, reason: err.message });
      return false;
    }
    const go = await new Promise(resolve => {
      signal.addEventListener('abort', () => resolve(false), { once: true });
      this.retryLater(...failure(err), () => resolve(true));
    });
    if (go) this.onstate({ name: 'connecting' });
    return go;
  }
}

// failure is why a request failed, and its details, for retryLater: a 503
// is the server still starting when it says so, at its connection limit
// when it says when to come back (Retry-After of 1 s or more), and
// otherwise an error said with the server's words (a node cut from its
// feed, a shutdown); a Retry-After is the least wait the server asks for.
export function failure(err) {
  if (network.offline) return ['offline', {}];
  if (err instanceof HTTPError) {
    const details = { status: err.status, reason: err.message };
    if (err.retryAfter !== null) details.retryAfter = err.retryAfter;
    if (err.starting !== null) return ['starting', { ...details, reason: err.starting }];
    return [err.status === 503 && err.retryAfter > 0 ? 'busy' : 'error', details];
  }
  // A request with no answer by its deadline: what a silent link looks like.
  return ['error', err?.name === 'TimeoutError' ? { deadline: true } : {}];
}

// withPosition adds a client's position to url: ?since=cursor&epoch=E, each
// only once known (a client started with none reads "from now"). All four
// clients ask this way: the polls on every request, SSE and WebSocket on
// every new connection.
export function withPosition(url, { cursor, epoch }) {
  if (cursor !== null) url.searchParams.set('since', cursor);
  if (epoch !== null) url.searchParams.set('epoch', epoch);
  return url;
}
