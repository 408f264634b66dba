// ws.js: the WebSocket client.
//
// One connection carries everything: a hello with the position the server
// starts from (cursor and epoch) and its heartbeat period, then every
// message as one text frame the moment it is published. The browser resumes
// nothing by itself: this client keeps its position, the cursor (the last id
// it received) and the epoch that cursor counts in, and reconnects with
// ?since=cursor&epoch=E. The epoch names the server's id sequence, and a
// restarted server has a new one: to a cursor of the old epoch it answers
// {"type":"reset","epoch":"NEW"} and then sends its messages from id 1, so
// its 1..10 are not skipped as if they were the 1..10 we already had.
//
// Heartbeat: the server pings with WebSocket control frames, which the
// browser answers by itself and never shows to a page. So this client sends
// its own {"type":"ping"} every heartbeat period and expects the server's
// {"type":"pong"}: if nothing at all arrives for two periods, the connection
// is dead even if the browser has not noticed (a cable pulled, a laptop
// asleep, a NAT that forgot us), and we reconnect.
//
// The interface, shared by poll.js, longpoll.js and sse.js:
//   new WSClient({onmessage, onstate, onnotice});
//   start(cursor, epoch): from a position, the last id already had and the
//     epoch it belongs to (null for both: from now, no check);
//   stop();
//   .cursor and .epoch: the position now, kept from what arrived;
//   onmessage(m) per message, onstate({name, ...}) on every change of
//   state, onnotice({type, ...}) for request, empty, missed {count},
//   reset {epoch}, watchdog and error.

import { Backoff, HEALTHY_MS, network, withPosition } from './network.js';

// Close codes after which a reconnect would only fail the same way.
const FINAL = new Set([
  1003, // we sent a binary frame
  1008, // we sent too many bad frames
  1009, // we sent a frame over the size limit
  4500, // a newer connection with our client id replaced this one
]);
const TOO_SLOW = 4001; // we fell behind and were dropped: resume at once
const TRY_LATER = 1013; // the server is full: come back, but not at once
const TRY_LATER_MS = 5_000;

// A client id per page load: if the server still holds an old connection
// of ours that we gave up on, our new one replaces it (close 4500 to the
// old one) instead of both receiving.
export const clientID = crypto.randomUUID?.() ?? String(Math.random()).slice(2);

export class WSClient {
  #ws = null;          // the current WebSocket, null between connections
  #backoff = new Backoff();
  #timers = [];        // retry, watchdog and health timers of this connection
  #stopped = true;

  constructor({ onmessage, onstate, onnotice }) {
    this.onmessage = onmessage;
    this.onstate = onstate;
    this.onnotice = onnotice;
    this.cursor = null; // the last id received: where a reconnect resumes
    this.epoch = null;  // the epoch that cursor counts in
    network.addEventListener('offline', () => this.#cut());
  }

  start(cursor, epoch = null) {
    this.cursor = cursor;
    this.epoch = epoch;
    this.#stopped = false;
    this.#connect();
  }

  stop() {
    this.#stopped = true;
    this.#clear();
    const ws = this.#ws;
    this.#ws = null;
    ws?.close(1000, 'stopped');
    this.onstate({ name: 'closed', code: 1000 });
  }

  #connect() {
    this.#clear();
    if (network.offline) return this.#retry('offline');
    const url = withPosition(new URL('api/ws', location.href), this);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('client', clientID);
    this.onstate({ name: 'connecting' });
    this.onnotice({ type: 'request' });
    const ws = new WebSocket(url);
    this.#ws = ws;
    ws.onmessage = e => this.#frame(ws, e.data);
    ws.onclose = e => {
      if (ws !== this.#ws) return; // an old socket we already left
      this.#ws = null;
      this.#clear();
      this.#closed(e.code, e.reason);
    };
  }

  #frame(ws, text) {
    if (ws !== this.#ws) return;
    this.#heard();
    const f = JSON.parse(text);
    if (f.type === undefined) { // a message: {"id":..,"time":..,"data":..}
      this.cursor = f.id;
      this.onmessage(f);
      return;
    }
    switch (f.type) {
      case 'hello':
        // Where the server starts: our own position, or "now" if we had none.
        this.cursor = f.next;
        this.epoch = f.epoch;
        this.#heartbeat = f.heartbeat_ms;
        this.#startHeartbeat(ws);
        this.#timers.push(setTimeout(() => this.#backoff.reset(), HEALTHY_MS));
        this.onstate({ name: 'open', heartbeat: f.heartbeat_ms });
        break;
      case 'missed': this.onnotice({ type: 'missed', count: f.missed }); break;
      case 'reset': // the server restarted: continue from 0 of its epoch
        this.cursor = 0;
        this.epoch = f.epoch;
        this.onnotice({ type: 'reset', epoch: f.epoch });
        break;
      case 'pong': break; // #heard has done its job
      case 'error': this.onnotice({ type: 'error', error: f.error }); break;
    }
  }

  #heartbeat = 25_000;
  #lastHeard = 0;

  #heard() { this.#lastHeard = performance.now(); }

  // startHeartbeat pings every period and declares the connection dead when
  // nothing came back for two periods.
  #startHeartbeat(ws) {
    const period = this.#heartbeat;
    this.#timers.push(setInterval(() => {
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
    if (this.#stopped || !this.#ws) return;
    const ws = this.#ws;
    this.#ws = null;
    this.#clear();
    ws.close(4000, 'client gave up on this connection');
    this.#retry(network.offline ? 'offline' : 'dead');
  }

  #closed(code, reason) {
    if (this.#stopped) return;
    if (FINAL.has(code)) {
      this.onstate({ name: 'closed', code, reason });
      return;
    }
    if (code === TOO_SLOW) return this.#connect(); // at once, with the cursor
    this.#retry(`close ${code}`, code === TRY_LATER ? TRY_LATER_MS : 0);
  }

  #retry(why, atLeast = 0) {
    if (this.#stopped) return;
    const delay = Math.max(atLeast, this.#backoff.next());
    this.onstate({ name: 'reconnecting', at: Date.now() + delay, why });
    this.#timers.push(setTimeout(() => this.#connect(), delay));
  }

  #clear() {
    for (const t of this.#timers) { clearTimeout(t); clearInterval(t); }
    this.#timers = [];
  }
}
