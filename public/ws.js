// ws.js: the WebSocket client, beside transports/ws.go.
//
// One connection, GET /api/ws?since=cursor&epoch=E&client=C upgraded,
// carries everything, one JSON text frame each:
//
//   {"type":"hello","next":41,"epoch":"k3x9AbCd","heartbeat_ms":25000}  first: where the server starts
//   {"id":42,"time":1763773323456.789,"data":"hi"}                        each message, as it is published
//   {"type":"missed","missed":K}  {"type":"reset","epoch":"NEW"}          the edge cases
//   {"type":"pong"}  {"type":"error","error":"..."}                       answers to ours
//
// The browser resumes nothing by itself: this client keeps its position,
// the cursor (the last id it received) and the epoch that cursor counts in,
// and reconnects with ?since=cursor&epoch=E. The epoch names the server's id
// sequence, and a restarted server has a new one: to a cursor of the old
// epoch it answers with a reset and then sends its messages from id 1, so
// its 1..10 are not skipped as if they were the 1..10 we already had.
//
// How the connection ended decides what comes next: the close code, looked
// up in the server's table (GET /api/config, ws.close_codes), says whether
// to reconnect at once with the cursor, with backoff, or never (a reconnect
// would only fail the same way). A node that lost its feed's broker
// says goodbye with 1012 ("reconnect now"): behind a proxy the new
// connection lands on another node, which serves the same feed from the
// same cursor. A server at its connection limit closes with 1013 and says
// in the reason how long to wait, "...; retry in 7 s" (retryIn): the
// client waits that long at least (client.js, retryLater).
//
// Heartbeat: the server pings with WebSocket control frames, which the
// browser answers by itself and never shows to a page. So this client sends
// its own {"type":"ping"} every heartbeat_ms of the hello and expects the
// server's {"type":"pong"}: if nothing at all arrives for two periods, the
// connection is dead even if the browser has not noticed (a cable pulled, a
// laptop asleep, a NAT that forgot us), and we reconnect.
//
// Over HTTP/1.1 always, ws:// or wss://, even when the page's other
// requests travel over HTTP/2: the handshake is an HTTP/1.1 Upgrade, and a
// WebSocket over HTTP/2 (RFC 8441, an extended CONNECT) needs a server that
// offers it, which Go's net/http does not by default and gorilla/websocket
// cannot (it takes over a connection of its own). The browser makes no
// Resource Timing entry for a WebSocket, so this is said, not measured. The
// hello names the node that serves the connection when several serve the
// feed ("node":"b").

import { Client, withPosition } from './client.js';
import { HEALTHY_MS, network } from './network.js';

// A client id per page load: if the server still holds an old connection
// of ours that we gave up on, our new one replaces it (close 4500 to the
// old one) instead of both receiving.
export const clientID = crypto.randomUUID?.() ?? String(Math.random()).slice(2);

// retryIn is the wait, in seconds, that a close reason asks for, as the
// server words it at its connection limit (close 1013): the reason ends
// "; retry in 7 s". null when it asks for none.
export function retryIn(reason) {
  const m = /; retry in (\d+) s$/.exec(reason ?? '');
  return m ? Number(m[1]) : null;
}

export class WSClient extends Client {
  id = clientID;  // the ?client= of its connections
  #ws = null;     // the current WebSocket, null between connections
  #timers = [];   // heartbeat and health timers of this connection
  #lastHeard = 0; // performance.now() of the last frame
  #period = null; // heartbeat_ms of the hello
  #nextPing = 0;  // performance.now() of our next ping
  #acks = new Map(); // ref -> {resolve, reject} of a publish over this socket
  #refs = 0;

  // What the page shows of the inside of this client: the WebSocket itself
  // (readyState, bufferedAmount, url), the heartbeat's clock and the last
  // close, {code, reason, at}.
  get socket() { return this.#ws; }
  lastClose = null;
  extensions = null; // WebSocket.extensions of the last socket that opened: the browser's word of what its handshake agreed
  get heartbeat() {
    if (this.#period === null || !this.#ws) return null;
    return { period: this.#period, lastHeard: this.#lastHeard, nextPing: this.#nextPing, deadline: this.#lastHeard + 2 * this.#period };
  }

  // publish sends data over this connection, {"type":"publish","data":…,
  // "ref":"r1"}, and resolves with the server's ack, {"type":"published",
  // "id":42,"ref":"r1"}, or rejects with its error frame's words, or when
  // the connection ends first.
  publish(data) {
    const ws = this.#ws;
    if (ws?.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected'));
    const ref = `r${++this.#refs}`;
    ws.send(JSON.stringify({ type: 'publish', data, ref }));
    return new Promise((resolve, reject) => this.#acks.set(ref, { resolve, reject }));
  }

  constructor(callbacks, config) {
    super(callbacks, config);
    network.addEventListener('offline', () => this.#cut());
  }

  async run(signal) {
    signal.addEventListener('abort', () => {
      this.#clear();
      const ws = this.#ws;
      this.#ws = null;
      ws?.close(1000, 'stopped');
    }, { once: true });
    this.#connect();
  }

  #connect() {
    this.#clear();
    this.cancelRetry(); // one timer at a time: a close code that says "now" wins over a retry pending
    if (network.offline) return this.#retry('offline');
    const url = withPosition(new URL('api/ws', location.href), this);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('client', this.id);
    this.onstate({ name: 'connecting' });
    this.onnotice({ type: 'request' });
    const ws = new WebSocket(url);
    this.#ws = ws;
    ws.onmessage = e => { if (ws === this.#ws) this.#frame(ws, JSON.parse(e.data)); };
    ws.onclose = e => {
      if (ws !== this.#ws) return; // an old socket we already left
      this.#ws = null;
      this.#clear();
      this.lastClose = { code: e.code, reason: e.reason, at: Date.now() };
      this.#closed(e.code, e.reason);
    };
  }

  // frame takes one frame from the server.
  #frame(ws, f) {
    this.#lastHeard = performance.now();
    switch (f.type) {
      case undefined: // a message
        this.cursor = f.id;
        this.onmessage(f);
        break;
      case 'hello': // our own position, or "now" if we had none
        this.cursor = f.next;
        this.epoch = f.epoch;
        this.node = f.node ?? null;
        this.extensions = ws.extensions; // what the handshake agreed: "permessage-deflate; ..." or ""
        this.#heartbeat(ws, f.heartbeat_ms);
        this.#timers.push(setTimeout(() => this.backoff.reset(), HEALTHY_MS));
        this.onstate({ name: 'open', heartbeat: f.heartbeat_ms });
        break;
      case 'missed': this.onnotice({ type: 'missed', missed: f.missed }); break;
      case 'reset': // the server restarted: continue from 0 of its epoch
        this.cursor = 0;
        this.epoch = f.epoch;
        this.onnotice({ type: 'reset', epoch: f.epoch });
        break;
      case 'pong': break; // heard: that was its job
      case 'published': // the ack of our publish
        this.#acks.get(f.ref)?.resolve(f);
        this.#acks.delete(f.ref);
        break;
      case 'error':
        if (this.#acks.has(f.ref)) {
          this.#acks.get(f.ref).reject(new Error(f.error));
          this.#acks.delete(f.ref);
        }
        this.onnotice({ type: 'error', error: f.error });
        break;
    }
  }

  // closed does what the server's table says for the close code. A code
  // the table lacks (1006: cut without a close frame, by the network or a
  // refused handshake) is retried with backoff; a reason that says how long
  // to wait (1013) is a wait at least that long.
  #closed(code, reason) {
    if (this.stopped) return;
    const row = this.config.ws.close_codes.find(c => c.code === code);
    switch (row?.reconnect) {
      case 'never': this.onstate({ name: 'closed', code, reason }); break;
      case 'now': // with the cursor, no wait: another node serves the same feed (1012), or this one again (4001)
        this.onnotice({ type: 'goodbye', how: `close ${code}`, code, reason, cursor: this.cursor });
        this.#connect();
        break;
      default: { // "backoff", or not in the table
        const retryAfter = retryIn(reason);
        this.#retry('close', retryAfter === null ? { code } : { code, retryAfter });
      }
    }
  }

  // heartbeat pings every period and declares the connection dead when
  // nothing came back for two periods.
  #heartbeat(ws, period) {
    this.#period = period;
    this.#nextPing = performance.now() + period;
    this.#timers.push(setInterval(() => {
      this.#nextPing = performance.now() + period;
      if (performance.now() - this.#lastHeard > 2 * period) {
        this.onnotice({ type: 'watchdog' });
        this.#cut(); // dead: the browser may take minutes to notice
        return;
      }
      ws.send('{"type":"ping"}');
    }, period));
  }

  // cut abandons the current connection as a failure and schedules a retry.
  #cut() {
    if (this.stopped || !this.#ws) return;
    const ws = this.#ws;
    this.#ws = null;
    this.#clear();
    ws.close(4000, 'client gave up on this connection');
    this.#retry(network.offline ? 'offline' : 'dead');
  }

  #retry(why, details = {}) {
    if (this.stopped) return;
    this.retryLater(why, details, () => this.#connect());
  }

  #clear() {
    for (const t of this.#timers) { clearTimeout(t); clearInterval(t); }
    this.#timers = [];
    this.#period = null;
    for (const { reject } of this.#acks.values()) reject(new Error('the connection ended before the ack'));
    this.#acks.clear();
  }
}
