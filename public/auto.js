// auto.js: the "auto" client, what Socket.IO and SockJS do.
//
// It starts on long polling, which gets through almost everything, and at
// once tries to upgrade to WebSocket in the background. When the WebSocket
// says hello, the client switches: the long poll is stopped and the
// WebSocket delivers from then on. When the upgrade fails (a proxy that
// does not pass the Upgrade; the page's switch makes the server refuse it,
// POST /api/block), it stays on long polling and tries the upgrade again
// later, with a backoff of its own. When an upgraded WebSocket is lost, it
// falls back to long polling at once, and tries the upgrade again later.
//
// One position for both: the cursor and epoch are this client's, and each
// engine starts from them. The WebSocket starts from the cursor of the
// moment it was tried, while the long poll may still bring messages after
// that, so a message the other engine already delivered is dropped by its
// id: nothing is lost across a switch, and nothing comes twice.
//
// The engines are the page's own LongPollClient and WSClient; the
// WebSocket has a client id of its own (auto-…), so it does not replace the
// WebSocket panel's connection.

import { Client } from './client.js';
import { LongPollClient } from './longpoll.js';
import { WSClient, clientID } from './ws.js';
import { Backoff, network } from './network.js';

export const autoClientID = `auto-${clientID}`;

export class AutoClient extends Client {
  engine = null;              // 'longpoll' or 'ws': the one that delivers now
  upgrade = { state: 'none' }; // 'trying'; 'done'; 'failed' {at: page clock (ms) of the next try, code}
  #lp;
  #ws;
  #tries = new Backoff(1_000, 30_000); // between upgrade tries
  #timer = null;

  constructor(callbacks, config) {
    super(callbacks, config);
    const engine = name => ({
      onmessage: m => this.#message(name, m),
      onstate: s => this.#state(name, s),
      onnotice: n => this.#notice(name, n),
    });
    this.#lp = new LongPollClient(engine('longpoll'), config);
    this.#ws = new WSClient(engine('ws'), config);
    this.#ws.id = autoClientID;
    network.addEventListener('online', () => { // the network is back: try the upgrade now too
      if (this.upgrade.state === 'failed' && !this.stopped) {
        this.#tries.reset();
        this.#tryUpgrade();
      }
    });
  }

  // The engines, for the page's view of the inside of this client.
  get longPoll() { return this.#lp; }
  get webSocket() { return this.#ws; }

  // What carries it is what its engine says: the protocol and node of the
  // one that delivers now.
  get protocol() { return this.engine === 'ws' ? this.#ws.protocol : this.#lp.protocol; }
  get node() { return this.engine === 'ws' ? this.#ws.node : this.#lp.node; }
  set node(_) {} // its engines keep their own

  async run(signal) {
    signal.addEventListener('abort', () => {
      clearTimeout(this.#timer);
      this.engine = null;
      this.#lp.stop();
      this.#ws.stop();
    }, { once: true });
    this.#onLongPoll();
    this.#tryUpgrade();
  }

  #onLongPoll() {
    this.engine = 'longpoll';
    this.#lp.start(this.cursor, this.epoch);
  }

  #tryUpgrade() {
    clearTimeout(this.#timer);
    this.upgrade = { state: 'trying' };
    this.#ws.start(this.cursor, this.epoch);
  }

  // retryUpgrade stops the WebSocket that failed and tries again later:
  // after its own backoff, or the wait the server asked for (s, a close
  // 1013's reason) if that is longer.
  #retryUpgrade(code, retryAfter) {
    const delay = Math.max(this.#tries.next(), (retryAfter ?? 0) * 1000);
    this.upgrade = { state: 'failed', at: Date.now() + delay, code };
    this.#ws.stop(); // its "closed" is not news: the upgrade has failed already
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tryUpgrade(), delay);
  }

  #message(name, m) {
    if (name !== this.engine) return; // a WebSocket not switched to yet
    if (this.cursor !== null && m.id <= this.cursor) return; // delivered by the other engine
    this.cursor = m.id;
    this.epoch = (name === 'ws' ? this.#ws : this.#lp).epoch;
    this.onmessage(m);
  }

  #state(name, s) {
    if (this.stopped) return;
    if (name === 'ws') {
      if (this.upgrade.state === 'failed') return; // the WebSocket given up on, stopping
      if (s.name === 'open' && this.engine !== 'ws') { // the upgrade worked: switch
        this.engine = 'ws';
        this.upgrade = { state: 'done' };
        this.#tries.reset();
        this.#lp.stop();
        this.onnotice({ type: 'upgraded' });
      } else if (s.name === 'reconnecting' || s.name === 'closed') {
        if (this.engine === 'ws') { // lost after the switch: back to long polling now
          this.onnotice({ type: 'fellBack', code: s.code });
          this.#onLongPoll();
        }
        return this.#retryUpgrade(s.code, s.retryAfter);
      }
    }
    if (name !== this.engine) return;
    this.onstate({ ...s, engine: name });
  }

  #notice(name, n) {
    if (n.type === 'request' || name === this.engine) this.onnotice(n);
    if (name === this.engine && n.type === 'reset') this.cursor = 0;
  }
}
