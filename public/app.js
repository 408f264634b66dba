// app.js: the page. It reads the server's settings, starts the four
// clients (and the auto panel's) from one position, shows what each
// receives, what it holds inside and what carries it (the protocol, as the
// browser measured it, and the node that serves it), checks every id for
// gaps and duplicates, measures latency and the cost on the wire, shows the
// wire inspector and the guide, and wires the controls. The clients know
// nothing of the page: client.js states their interface.

import { PollClient } from './poll.js';
import { LongPollClient, timeouts } from './longpoll.js';
import { SSEClient } from './sse.js';
import { WSClient, clientID } from './ws.js';
import { network, request, briefRequests, slotsWanted, Backoff, HTTPError, sleep, pageProtocol, multiplexed } from './network.js';
import { t, tOr, setLang, setFacts, defaultLang, num, clockTime, day } from './i18n.js';
import { draw, WINDOW_MS } from './chart.js';
import { renderExchange } from './inspect.js';
import { figures, verdict, rank, KEYS } from './verdict.js';
import { AutoClient, autoClientID } from './auto.js';
import { onLink, directURL, linkURL, measured, span } from './links.js';

// Each transport's colour is the CSS variable --c-<key> (style.css), one
// for light and one for dark mode, each at least 3:1 against the panel.
const TRANSPORTS = [
  { key: 'poll', Client: PollClient, cut: null },
  { key: 'longpoll', Client: LongPollClient, cut: 'longpoll' },
  { key: 'sse', Client: SSEClient, cut: 'sse' },
  { key: 'ws', Client: WSClient, cut: 'ws' },
];

const MAX_SHOWN = 50;      // messages kept in each panel's list
const LATENCY_SAMPLES = 200; // the recent window of p50 and p99
const STUCK_MS = 4_000;    // a short request slower than this is stuck in the browser
const COST_MS = 30_000;    // the window of the live cost figures
// How long the offline switch lasts; ?offline=3 shortens it (tests, impatient demos).
const OFFLINE_MS = 1000 * (Number(new URLSearchParams(location.search).get('offline')) || 10);
// How long the tunnel button silences the link; ?tunnel=3 shortens it.
const TUNNEL_MS = 1000 * Math.min(600, Number(new URLSearchParams(location.search).get('tunnel')) || 20);

const $ = sel => document.querySelector(sel);
const encoder = new TextEncoder();

// pageNow is this page's clock in epoch ms, with the fraction that
// performance.now() has and Date.now() lacks.
const pageNow = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------
// One clock. A message's time is the server's clock at its publish; latency
// is receipt minus that, so the page needs the offset between the server's
// clock and its own (offset = server - page). Two kinds of evidence bound it:
//
//   - a publish from this page, NTP-style: the server stamped the message
//     somewhere between our send t0 and its answer t1, so
//     time - t1 <= offset <= time - t0;
//   - every message received at r: it cannot arrive before it was sent, so
//     offset >= time - r.
//
// The estimate is the middle of the tightest bounds of the last two minutes
// (clocks drift), and its error is half their width. Before the first publish
// there is no upper bound: the offset is taken as 0, page and server on one
// machine, raised to the lower bound if a message says otherwise.

const clock = {
  offset: 0,
  error: null,    // ms either side; null while assumed
  publishes: 0,
  buckets: [],    // {at, lo, hi}, one per 10 s of page time

  bound(lo, hi = Infinity) {
    const now = performance.now();
    let b = this.buckets.at(-1);
    if (!b || now - b.at > 10_000) {
      b = { at: now, lo: -Infinity, hi: Infinity };
      this.buckets.push(b);
      while (now - this.buckets[0].at > 120_000) this.buckets.shift();
    }
    b.lo = Math.max(b.lo, lo);
    b.hi = Math.min(b.hi, hi);
    let low = Math.max(...this.buckets.map(x => x.lo));
    let high = Math.min(...this.buckets.map(x => x.hi));
    if (low > high) { // a clock stepped: forget the older evidence
      this.buckets = [b];
      [low, high] = [b.lo, b.hi];
    }
    if (high === Infinity) {
      this.offset = Math.max(0, low);
      this.error = null;
    } else {
      this.offset = (low + high) / 2;
      this.error = (high - low) / 2;
    }
  },

  published(t0, t1, time) {
    this.publishes++;
    this.bound(time - t1, time - t0);
    renderClock();
  },

  // latency of a message received at r, after using it as evidence.
  latency(r, time) {
    this.bound(time - r);
    return r + this.offset - time;
  },
};

function renderClock() {
  $('#clock').textContent = clock.error === null ? t('clockAssumed') : t('clockMeasured', {
    offset: num(clock.offset, 2), err: num(clock.error, 2), n: clock.publishes,
  });
}

// ---------------------------------------------------------------------------
// Panel: one transport's view.

class Panel {
  constructor({ key, Client, cut }) {
    this.key = key;
    this.Client = Client;
    this.el = $('#panel-template').content.firstElementChild.cloneNode(true);
    this.el.id = `panel-${key}`;
    this.el.dataset.transport = key;
    this.el.style.setProperty('--accent', `var(--c-${key})`);
    this.field = name => this.el.querySelector(`.${name}`);
    this.field('name').dataset.i18n = key;
    for (const dd of this.el.querySelectorAll('[data-part]')) dd.dataset.i18n = `explain.${key}.${dd.dataset.part}`;
    const button = this.field('cut');
    if (key === 'auto') { // no cut: a switch that makes the server refuse its upgrades
      button.id = 'block-ws';
      button.dataset.i18n = 'blockWS';
      button.setAttribute('aria-pressed', 'false');
      button.classList.remove('cut');
      button.classList.add('block');
      for (const part of ['cost', 'server', 'wire']) this.field(part).hidden = true; // the server counts no "auto": its engines are counted as themselves
    } else if (cut) {
      button.dataset.transport = cut;
      button.id = `cut-${key}`;
      button.setAttribute('aria-describedby', 'cut-help');
    } else {
      const note = document.createElement('p');
      note.className = 'help nothing-to-cut';
      note.dataset.i18n = 'nothingToCut';
      button.replaceWith(note); // where the button would be
    }
    $('#panels').append(this.el);
    this.buildStripButton();

    this.last = null;        // the last id received: gaps and duplicates are checked against it
    this.expectJump = false; // a "missed" notice announced the next gap
    this.missed = 0;         // messages the server said were gone
    this.counts = { received: 0, gaps: 0, dups: 0, reconnects: 0, resets: 0, empty: 0, requests: 0 };
    this.state = { name: 'connecting' };
    this.since = performance.now(); // when the current state began
    this.wasOpen = false;    // open at least once: later opens are reconnects
    this.lost = false;       // lost the connection since the last open
    this.latencies = [];     // recent latencies, ms
    this.points = [];        // {at, ms} for the chart
    this.sizes = [];         // {at, bytes, framing} of each message received, for the cost window
    this.answers = [];       // {at, framing} of each poll answer received
    this.openedAt = null;    // performance.now() of the last open
    this.tickerAt = [];      // performance.now() of each ticker message, over the cost window
    this.countingSince = performance.now(); // of the counters: the page's start or the last reset
    this.client = null;      // made once the server's settings are known
    this.tunnel = null;      // its account of the last tunnel (tunnelStart)
    this.buildInside();
    if (key === 'ws') this.buildWSPublish();
  }

  // buildStripButton adds this panel's button to the strip that a phone
  // shows above the panels: its name and its latency, live; a press shows
  // its panel, one at a time.
  buildStripButton() {
    const b = document.createElement('button');
    b.type = 'button';
    b.id = `strip-${this.key}`;
    b.dataset.transport = this.key;
    b.style.setProperty('--accent', `var(--c-${this.key})`);
    b.setAttribute('aria-controls', this.el.id);
    b.setAttribute('aria-pressed', 'false');
    const name = document.createElement('span');
    name.className = 'strip-name';
    name.dataset.i18n = this.key;
    const lat = document.createElement('span');
    lat.className = 'strip-lat';
    b.append(name, lat);
    b.addEventListener('click', () => showPanel(this.key));
    $('#strip').append(b);
    this.strip = lat;
  }

  // start starts this panel's client from a position, making it first.
  start(cursor, epoch) {
    this.client ??= new this.Client({
      onmessage: m => this.message(m),
      onstate: s => this.setState(s),
      onnotice: n => this.notice(n),
    }, config);
    this.last = cursor;
    this.client.start(cursor, epoch);
  }

  message(m) {
    const received = pageNow();
    const c = this.counts;
    c.received++;
    if (this.last !== null && m.id <= this.last) c.dups++;
    else if (this.last !== null && m.id > this.last + 1 && !this.expectJump) c.gaps += m.id - this.last - 1;
    this.expectJump = false;
    this.last = Math.max(this.last ?? 0, m.id);
    const bytes = encoder.encode(JSON.stringify(m)).length;
    const h2 = this.key === 'sse' && this.client.saidProto === 'HTTP/2.0'; // an event in a DATA frame, not a chunk
    this.sizes.push({ at: performance.now(), bytes, framing: messageFraming(this.key, bytes, m.id, this.client.epoch, h2) });
    while (performance.now() - this.sizes[0].at > COST_MS && this.sizes.length > 1) this.sizes.shift();

    const latency = clock.latency(received, m.time);
    this.latencies.push(latency);
    if (this.latencies.length > LATENCY_SAMPLES) this.latencies.shift();
    this.points.push({ at: received, ms: latency });
    while (this.points.length && received - this.points[0].at > WINDOW_MS) this.points.shift();

    if (m.data?.user === 'ticker') {
      this.tickerAt.push(performance.now());
      while (performance.now() - this.tickerAt[0] > COST_MS) this.tickerAt.shift();
    }
    this.show(messageItem(m, latency));
    this.tunnelResumed();
    this.dirty = true;
  }

  // tunnelStart begins this panel's account of a tunnel: silence is {start,
  // end}, on performance.now(), as the page reckons them (wireTunnel).
  tunnelStart(silence) {
    this.tunnel = { silence, gaps: this.counts.gaps, dups: this.counts.dups, how: null, noticed: null, resumed: null };
    this.dirty = true;
  }

  // tunnelSign takes the first sign that the client noticed the silence
  // (links.js, NOTICED), with the time it took.
  tunnelSign(how) {
    const tu = this.tunnel, now = performance.now();
    if (!tu || tu.noticed !== null || tu.resumed !== null || now < tu.silence.start) return;
    tu.how = how;
    tu.noticed = now - tu.silence.start;
  }

  // tunnelResumed: a message after the link came back. Nothing crosses a
  // silent link, so the first one after its end is the resume; a client
  // that gave no sign before it noticed nothing until the held bytes came.
  tunnelResumed() {
    const tu = this.tunnel, now = performance.now();
    if (!tu || tu.resumed !== null || now < tu.silence.end) return;
    tu.resumed = now - tu.silence.start;
    if (tu.noticed === null) { tu.how = 'bytes'; tu.noticed = tu.resumed; }
  }

  // renderTunnel says when this panel noticed the tunnel, how, and that it
  // resumed with no gap and no duplicate since it began.
  renderTunnel() {
    const el = this.field('tunnel-line'), tu = this.tunnel, d = this.el.dataset;
    el.hidden = !tu;
    if (!tu) return;
    const now = performance.now();
    const sec = v => num(v / 1000, 1);
    const gaps = this.counts.gaps - tu.gaps, dups = this.counts.dups - tu.dups;
    d.tunnelHow = tu.how ?? '';
    d.tunnelNoticed = tu.noticed === null ? '' : Math.round(tu.noticed);
    d.tunnelResumed = tu.resumed === null ? '' : Math.round(tu.resumed);
    d.tunnelGaps = gaps;
    d.tunnelDups = dups;
    const noticed = tu.noticed === null ? { key: 'tunnel.notYet', params: { s: sec(Math.max(0, now - tu.silence.start)) } }
      : { key: `tunnel.by.${tu.how}`, params: { s: sec(tu.noticed) } };
    const resumed = tu.resumed !== null ? { key: 'tunnel.resumed', params: { s: sec(tu.resumed), gaps, dups } }
      : now < tu.silence.end ? { key: 'tunnel.silent', params: { s: Math.max(0, Math.ceil((tu.silence.end - now) / 1000)) } }
        : { key: 'tunnel.back' };
    if (tu.resumed !== null) el.dataset.done = ''; else delete el.dataset.done;
    const text = t('tunnel.line', { noticed, resumed });
    if (el.textContent !== text) el.textContent = text;
  }

  // resetCounters starts this tab's counters, latencies and lists over; the
  // position and the gap check go on from the last id.
  resetCounters() {
    for (const k of Object.keys(this.counts)) this.counts[k] = 0;
    this.missed = 0;
    this.latencies = [];
    this.points = [];
    this.sizes = [];
    this.answers = [];
    this.tickerAt = [];
    this.countingSince = performance.now();
    this.field('messages').replaceChildren();
    this.dirty = true;
  }

  notice(n) {
    switch (n.type) {
      case 'request': this.counts.requests++; break;
      case 'empty': this.counts.empty++; break;
      case 'missed':
        this.expectJump = true; // the jump ahead is announced: not a gap
        this.missed += n.missed;
        this.show(noteItem('missed', { n: n.missed }));
        break;
      case 'reset': // a new epoch: its ids start over, so id 1 next is neither a gap nor a duplicate
        this.last = 0;
        this.counts.resets++;
        this.show(noteItem('reset'));
        break;
      case 'watchdog':
        this.tunnelSign(this.key === 'sse' ? 'watchdog' : 'heartbeat'); // the WebSocket's watchdog is its heartbeat's
        this.show(noteItem('watchdog'));
        break;
      case 'goodbye': // the server said why it ended the connection: the client is already on its way back
        this.show(noteItem('goodbye', {
          how: n.code ? `${n.how}, ${closeMeaning(n.code)}` : n.how, // a close code with what it means
          reason: n.reason || t('in.noReason'), cursor: n.cursor ?? '–',
        }));
        break;
      case 'resent': // the server cut a held request, and the browser sent it again
        this.counts.reconnects++;
        this.show(noteItem('resent', { s: (n.held / 1000).toFixed(1), cursor: n.cursor ?? '–', epoch: n.epoch ?? '–' }));
        break;
      case 'upgraded': this.show(noteItem('upgraded')); break;
      case 'fellBack': this.show(noteItem('fellBack', { code: n.code ?? '–' })); break;
      case 'answer':
        this.answers.push({ at: performance.now(), framing: n.framing });
        while (performance.now() - this.answers[0].at > COST_MS && this.answers.length > 1) this.answers.shift();
        break;
    }
    this.dirty = true;
  }

  setState(s) {
    const changed = s.name !== this.state.name;
    if (changed) this.since = performance.now();
    if (s.name === 'reconnecting' && this.wasOpen) this.lost = true;
    if (s.name === 'reconnecting' && s.why !== 'offline') this.tunnelSign(this.signOf(s));
    if (s.name === 'open') {
      if (this.lost) this.counts.reconnects++;
      if (changed) this.openedAt = performance.now();
      this.wasOpen = true;
      this.lost = false;
    }
    this.state = s;
    if (changed) this.renderLive();
    this.el.dataset.state = s.name;
    this.el.dataset.why = s.why ?? '';
    this.el.dataset.retryAfter = s.retryAfter ?? ''; // s the server asked this retry to wait, at least
    this.el.dataset.retryWait = s.wait ?? '';         // ms this retry waits, as its client chose
    if (this.client && this.key !== 'auto') { // a retry is announced as its timer is set: shown at once, not at the next render
      this.el.dataset.retryAt = this.client.retryAt ?? '';
      this.el.dataset.retriesPending = this.client.retriesPending;
    }
    this.renderState();
    this.dirty = true;
  }

  show(li) {
    const list = this.field('messages');
    list.prepend(li);
    while (list.children.length > MAX_SHOWN) list.lastElementChild.remove();
  }

  // renderLive tells screen readers the state, once per change (and again
  // in the new language), not every countdown tick.
  renderLive() {
    const s = this.state;
    const word = s.name === 'reconnecting' ? t('state.reconnectingLive') : t(this.stateKey(s));
    this.field('state-live').textContent = t('stateLive', { name: t(this.key), word });
  }

  // signOf is how a reconnect tells that the client noticed a silent
  // link (links.js, NOTICED): its watchdog, a request's deadline (a long
  // poll's is its hold and grace), or another failure.
  signOf(s) {
    if (s.why === 'dead') return this.key === 'sse' ? 'watchdog' : 'heartbeat';
    if (s.why === 'error' && s.deadline) return this.key === 'poll' ? 'deadline' : 'lpTimeout';
    return 'failed';
  }

  // stateKey is the text of a state: a short poll holds no connection, so
  // its healthy state is not "open" but idle between polls.
  stateKey(s) {
    return s.name === 'open' && this.key === 'poll' ? 'state.open.poll' : `state.${s.name}`;
  }

  renderState() {
    const s = this.state;
    const secs = at => Math.max(0, Math.ceil((at - Date.now()) / 1000));
    const icons = { connecting: '…', open: this.key === 'poll' ? '○' : '●', waiting: '‖', reconnecting: '↻', closed: '✕' };
    this.field('state-icon').textContent = icons[s.name] ?? '';
    this.field('state-word').textContent = t(this.stateKey(s), { s: secs(s.at) });
    this.field('state-detail').textContent = this.detail(s, secs);
    this.el.dataset.openedAt = this.openedAt === null ? '' : Math.round(this.openedAt);
  }

  detail(s, secs) {
    switch (s.name) {
      case 'open':
        if (this.key === 'auto') return t(`detail.auto.${s.engine}`);
        if (this.key === 'poll') return t('detail.poll', { s: secs(s.next) });
        if (this.key === 'longpoll') return t('detail.longpoll', { s: s.held });
        if (this.key === 'ws') return t('detail.ws', { s: Math.round(s.heartbeat / 1000) });
        return t('detail.sse');
      case 'connecting':
        return this.key === 'longpoll' ? t('detail.connecting.longpoll') : '';
      case 'waiting':
        return t(`why.${s.why}`, { reason: s.reason ?? '' });
      case 'reconnecting': {
        const why = this.why(s);
        return s.retryAfter > 0 ? t('why.retryAfter', { why, s: s.retryAfter }) : why;
      }
      case 'closed':
        if (s.code === undefined || s.code === 1000) return '';
        return s.code < 1000 ? t('code.http', { code: s.code, reason: s.reason }) : closeText(s.code);
    }
    return '';
  }

  // why is the reason of a reconnect, in words.
  why(s) {
    if (s.why === 'browser') return t('why.browser', { id: s.lastEventID });
    if (s.why === 'close') return closeText(s.code);
    if (s.why === 'busy') return t('why.busy', { code: s.status });
    if (s.why === 'goodbye' || s.why === 'starting') return t(`why.${s.why}`, { reason: s.reason ?? '' });
    if (s.why === 'error' && s.status) return t('why.status', { code: s.status, reason: s.reason });
    return t(`why.${s.why}`);
  }

  // buildInside makes the rows of "inside the client": what DevTools would
  // show of this transport's object, read live from the client.
  buildInside() {
    const rows = {
      poll: ['request', 'position', 'retry'],
      longpoll: ['request', 'position', 'retry'],
      sse: ['readyState', 'url', 'lastEventId', 'retryHint', 'sends', 'retry'],
      ws: ['readyState', 'bufferedAmount', 'url', 'heartbeat', 'lastClose', 'retry'],
      auto: ['engine', 'upgrade', 'position'],
    }[this.key];
    const dl = this.field('inside-rows');
    this.inside = {};
    for (const row of rows) {
      const div = document.createElement('div');
      const dt = document.createElement('dt');
      dt.dataset.i18n = `in.${row}`;
      const dd = document.createElement('dd');
      dd.className = `in-${row}`;
      div.append(dt, dd);
      dl.append(div);
      this.inside[row] = dd;
    }
  }

  renderInside() {
    const c = this.client;
    if (!c) return;
    const d = this.el.dataset;
    const set = (row, text) => { if (this.inside[row].textContent !== text) this.inside[row].textContent = text; };
    const inS = at => Math.max(0, (at - performance.now()) / 1000).toFixed(1);
    const agoS = at => Math.max(0, (performance.now() - at) / 1000).toFixed(1);
    if (this.key === 'auto') {
      d.engine = c.engine ?? '';
      d.upgrade = c.upgrade.state;
      const ws = c.webSocket.socket;
      set('engine', c.engine === 'ws' ? t('in.engine.ws', { url: ws?.url ?? '–' }) : c.engine === 'longpoll' ? t('in.engine.longpoll') : t('in.none'));
      set('upgrade', t(`in.upgrade.${c.upgrade.state}`, {
        s: c.upgrade.at ? Math.max(0, (c.upgrade.at - Date.now()) / 1000).toFixed(1) : '', code: c.upgrade.code ?? '–',
      }));
      set('position', t('in.position', { cursor: c.cursor ?? '–', epoch: c.epoch ?? '–' }));
      return;
    }
    const n = c.retriesPending;
    set('retry', c.retryAt !== null ? t('in.retryIn', { n, s: Math.max(0, (c.retryAt - Date.now()) / 1000).toFixed(1) })
      : n > 0 ? t('in.retryPending', { n }) : t('in.none'));
    d.retryAt = c.retryAt ?? '';
    d.retriesPending = n;
    switch (this.key) {
      case 'poll':
      case 'longpoll': {
        const r = c.inflight;
        d.inflightSince = r ? Math.round(r.started) : ''; // performance.now() of its start
        d.inflightTimeout = r ? r.timeout : '';
        set('request', r ? t('in.inflight', { age: ms(performance.now() - r.started), timeout: ms(r.timeout) })
          : this.key === 'poll' && this.state.name === 'open' ? t('in.nextPoll', { s: inS(performance.now() + this.state.next - Date.now()) }) : t('in.none'));
        const q = r ? new URL(r.url).searchParams : null;
        set('position', t('in.position', { cursor: q ? q.get('since') ?? '–' : c.cursor ?? '–', epoch: q ? q.get('epoch') ?? '–' : c.epoch ?? '–' }));
        break;
      }
      case 'sse': {
        const es = c.source;
        const names = ['CONNECTING', 'OPEN', 'CLOSED'];
        d.readyState = es ? es.readyState : '';
        set('readyState', es ? `${es.readyState} ${names[es.readyState]}` : t('in.noObject', { name: 'EventSource' }));
        set('url', es ? es.url : '–');
        set('lastEventId', es ? (c.lastEventId || t('in.empty')) : '–');
        set('retryHint', c.retryHint === null ? '–' : ms(c.retryHint));
        set('sends', es && c.lastEventId ? `Last-Event-ID: ${c.lastEventId}` : t('in.sendsURL'));
        break;
      }
      case 'ws': {
        const ws = c.socket;
        const names = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
        d.readyState = ws ? ws.readyState : '';
        d.bufferedAmount = ws ? ws.bufferedAmount : '';
        set('readyState', ws ? `${ws.readyState} ${names[ws.readyState]}` : t('in.noObject', { name: 'WebSocket' }));
        set('bufferedAmount', ws ? t('in.bytes', { n: ws.bufferedAmount }) : '–');
        set('url', ws ? ws.url : '–');
        const hb = c.heartbeat;
        set('heartbeat', hb ? t('in.heartbeatIs', { next: inS(hb.nextPing), heard: agoS(hb.lastHeard), deadline: inS(hb.deadline) }) : '–');
        const lc = c.lastClose;
        set('lastClose', lc ? t('in.close', { code: lc.code, reason: lc.reason || t('in.noReason'), meaning: closeMeaning(lc.code) }) : t('in.none'));
        break;
      }
    }
  }

  // buildWSPublish adds the WebSocket's own publish form: the "both ways" of
  // the comparison table, a frame up and its ack down the same socket.
  buildWSPublish() {
    const form = $('#ws-publish-template').content.firstElementChild.cloneNode(true);
    this.field('chart').after(form);
    const status = form.querySelector('.ws-publish-status');
    form.addEventListener('submit', async e => {
      e.preventDefault();
      const input = form.querySelector('input');
      const t0 = performance.now();
      try {
        const ack = await this.client.publish({ user: $('#name').value || 'anon', text: input.value });
        say(status, 'ws.acked', { id: ack.id, ref: ack.ref, ms: ms(performance.now() - t0) });
        status.dataset.ackId = ack.id;
        input.value = '';
      } catch (err) {
        say(status, 'sendFailed', { error: failure(err) });
      }
    });
  }

  // renderVia says what carries this panel's client and which node serves
  // it: the protocol as the browser measured it (NextHop, network.js; a
  // WebSocket's is said, not measured: ws.js tells why; an SSE stream's is
  // the server's, in its hello, since the browser measures a stream only
  // once it has ended), and the node as
  // the server named it, in a hello or a poll answer's Fourway-Node
  // header. A server alone names none, and nothing is shown.
  renderVia() {
    const c = this.client;
    if (!c) return;
    const set = (el, text) => { if (el.textContent !== text) el.textContent = text; };
    const d = this.el.dataset;
    const ws = this.key === 'ws' || (this.key === 'auto' && c.engine === 'ws');
    const stream = ws || this.key === 'sse'; // the node of a hello, not of an answer
    let text;
    if (ws) {
      const url = (this.key === 'auto' ? c.webSocket : c).socket?.url ?? location.href; // between sockets: as the next will be
      d.proto = 'http/1.1'; // said, not measured: no browser API tells a WebSocket's protocol
      text = t('via.ws', { scheme: /^(wss|https):/.test(url) ? 'wss://' : 'ws://' });
    } else if (this.key === 'sse' && c.saidProto) {
      // The open stream's own, from its hello, in Resource Timing's names.
      d.proto = { 'HTTP/2.0': 'h2', 'HTTP/1.1': 'http/1.1' }[c.saidProto] ?? c.saidProto;
      text = t('via.sseSaid', { proto: d.proto });
    } else {
      d.proto = c.protocol ?? '';
      if (c.protocol) text = t(this.key === 'sse' ? 'via.sse' : 'via.measured', { proto: c.protocol });
      else text = this.key === 'sse' ? t('via.sseNotYet', { page: pageProtocol ?? '–' }) : t('via.notYet');
    }
    set(this.field('via-proto'), text);
    const node = this.field('via-node');
    d.node = c.node ?? '';
    node.hidden = !c.node;
    set(node, c.node ? t(stream ? 'via.node.hello' : 'via.node.header', { node: c.node }) : '');
  }

  // renderZip marks whether this panel's transport is compressed, and how:
  // a short mark beside its name, and in "inside the client" where that
  // comes from. A WebSocket's is the browser's own word: the extensions its
  // handshake agreed (WebSocket.extensions). A poll's is the server's word
  // (GET /api/config) with the browser's measure of the last answer
  // (Resource Timing: the body sizes of the last answer that came smaller
  // than it decodes to; gzip goes only on an answer it makes smaller). An SSE stream's is the server's
  // word alone: the browser shows no encoding of an open stream. Without
  // --compress the mark is hidden and the line says so, quietly.
  renderZip() {
    const c = this.client;
    if (!c) return;
    const ws = this.key === 'ws' || (this.key === 'auto' && c.engine === 'ws');
    let mark = '', how;
    if (ws) {
      const ext = (this.key === 'auto' ? c.webSocket : c).extensions;
      if (/permessage-deflate/.test(ext ?? '')) [mark, how] = ['permessage-deflate', t('zip.ws')];
      else how = ext === null ? t(config.compress ? 'zip.wsNotYet' : 'zip.off') : t(config.compress ? 'zip.wsNone' : 'zip.off');
    } else if (!config.compress) {
      how = t('zip.off');
    } else if (this.key === 'sse') {
      [mark, how] = ['gzip', t('zip.sse')];
    } else {
      const hop = (this.key === 'auto' ? c.longPoll : c).hop;
      mark = 'gzip';
      const z = hop.compressed;
      how = z ? t('zip.poll', { wire: num(z.encoded), decoded: num(z.decoded) }) : t('zip.pollNotYet');
    }
    const el = this.field('zip');
    el.hidden = !mark;
    this.el.dataset.compressed = mark;
    if (el.textContent !== mark) el.textContent = mark;
    if (el.title !== how) el.title = how;
    if (this.field('zip-how').textContent !== how) this.field('zip-how').textContent = how;
  }

  render(now) {
    this.renderState();
    this.renderVia();
    this.renderZip();
    this.renderInside();
    this.renderTunnel();
    if (!this.dirty) return;
    this.dirty = false;
    const c = this.counts;
    for (const [k, v] of Object.entries(c)) this.field(k === 'requests' ? 'tab-requests' : k).textContent = v;
    const d = this.el.dataset;
    d.received = c.received;
    d.gaps = c.gaps;
    d.dups = c.dups;
    d.reconnects = c.reconnects;
    d.resets = c.resets;
    d.epoch = this.client?.epoch ?? '';
    d.missed = this.missed;
    d.lastId = this.last ?? '';
    const sorted = [...this.latencies].sort((a, b) => a - b);
    this.p50 = quantile(sorted, 0.5);
    this.p99 = quantile(sorted, 0.99);
    this.field('p50').textContent = ms(this.p50);
    this.field('p99').textContent = ms(this.p99);
    this.field('window').textContent = sorted.length ? t('window', { n: sorted.length }) : '';
    this.field('counts-summary').textContent = t('counts', { n: c.received, gaps: c.gaps, dups: c.dups });
    if (this.strip) this.strip.textContent = t('strip', { p50: ms(this.p50), state: t(this.stateKey(this.state), { s: '' }) });
    const color = getComputedStyle(this.el).getPropertyValue('--accent').trim();
    draw(this.field('chart'), this.points, now, color, {
      lines: { [t('p50')]: this.p50, [t('p99')]: this.p99 },
      label: ms,
      ago: before => before === 0 ? t('chart.now') : t('chart.ago', { s: before / 1000 }),
    });
  }

  renderStats(s) {
    this.field('s-requests').textContent = s.requests;
    this.field('s-empty').textContent = s.empty;
    this.field('s-clients').textContent = s.clients;
  }

  // renderCost shows what this transport cost on the wire over the window
  // from stats sample a to b, split into its parts (see costParts).
  // Compressed, the first row holds the compressed part in place of the
  // messages, and a line beside gives the messages' decoded size.
  renderCost(a, b) {
    const c = costParts(this, a, b);
    this.cost = c;
    const d = this.el.dataset;
    d.costFrom = c.from;
    d.costTo = c.to;
    d.costSum = Object.values(c.parts).reduce((n, v) => n + v, 0);
    d.costFraming = c.parts.framing;
    d.costHeartbeats = c.parts.heartbeats;
    d.costZipped = c.zip ? c.parts.zipped : '';
    this.field('cost-rate').textContent = t('cost.rate', {
      published: num(c.published, 1), delivered: num(c.delivered, 1), s: Math.round(c.seconds), requests: num(c.requests),
    });
    const value = v => v === 0 ? '–' : t('cost.value', { bytes: num(Math.round(v)), per: c.messages ? num(v / c.messages, 1) : '–' });
    const first = this.field('cost-messages').previousElementSibling; // its label: the messages, or the compressed part
    const label = `cost.${c.zip ? c.name : 'messages'}`;
    if (first.dataset.i18n !== label) [first.dataset.i18n, first.textContent] = [label, t(label)];
    first.parentElement.classList.toggle('zipped', c.zip); // a longer label, which may wrap
    for (const k of PARTS) this.field(`cost-${k}`).textContent = value(c.parts[k === 'messages' && c.zip ? 'zipped' : k]);
    this.field('cost-total').textContent = t('cost.value', {
      bytes: num(c.total), per: c.messages ? num(c.total / c.messages, 1) : '–',
    });
    const h2 = this.field('cost-h2');
    h2.hidden = c.frames === 0;
    d.costFrames = c.frames;
    d.costHpack = c.hpack;
    d.costMeasured = c.measured.join(' ');
    d.costComputed = c.computed.join(' ');
    if (c.frames) h2.textContent = t('cost.h2', { frames: num(c.frames), hpack: num(c.hpack) });
    const zip = this.field('cost-zip');
    zip.hidden = !c.zip;
    if (c.zip) {
      zip.textContent = [t('cost.zip', {
        decoded: num(Math.round(c.decoded)), part: t(label),
        ratio: c.parts.zipped > 0 && c.decoded > 0 ? num(c.decoded / c.parts.zipped, 1) : '–',
      }), tOr(`cost.zip.${this.key}`, '')].filter(Boolean).join(' ');
    }
    const names = list => list.map(k => t(`cost.${k}`)).join(t('cost.how.sep'));
    this.field('cost-how').textContent = [
      c.measured.length ? t('cost.how.counted', { parts: names(c.measured) }) : '',
      c.computed.length ? t('cost.how.computed', { parts: names(c.computed) }) : '',
      t(c.zip ? 'cost.how.restZip' : 'cost.how.rest', { part: t(label === 'cost.messages' ? `cost.${c.rest}` : label) }),
      c.fitted ? t('cost.how.fitted') : '',
    ].filter(Boolean).join(' ');
    // The overhead per message is the bytes on the wire beyond the
    // message's own. Compressed, the message's own bytes on the wire are
    // not known (they are in one body with their framing), and the
    // decoded size is not on the wire: the figure is then the bytes per
    // message all told, and the comparison table says so.
    this.overhead = !c.messages ? null : c.zip ? c.total / c.messages : (c.total - c.parts.messages) / c.messages;
  }
}

// ---------------------------------------------------------------------------
// The live cost. /api/stats counts every byte on the server's sockets per
// transport (bytes_in, bytes_out), and the messages delivered, for all
// clients. Over the last COST_MS those totals split into parts that add up
// to them exactly:
//
//   messages     the message JSON itself: messages delivered x the mean
//                size of the messages this tab received in the window (all
//                four carry the same bytes);
//   framing      what wraps each message: a WebSocket frame header (2 bytes
//                under 126, 4 under 64 KiB), an SSE event's "id: …",
//                "data: " and newlines plus its chunk header, a poll
//                answer's JSON around its messages (measured on this tab's
//                answers, per request);
//   heartbeats   SSE: ": ping" comments (13 bytes with their chunk, one per
//                keepalive per client); WebSocket: the server's ping and the
//                browser's pong (2 + 6 bytes), and this page's {"type":"ping"}
//                and its {"type":"pong"} (21 + 17 bytes), one each per
//                heartbeat per client; polls have none;
//   handshakes   SSE and WebSocket: what is left, each connection's request
//                and response headers, the hello and any close frame;
//   headers      polls: what is left, the request and response line and
//                headers of every request.
//
// So "handshakes" and "headers" are measured as the rest, and the other
// parts are computed from the rules of each protocol and the counts, but
// where the server counts them. For a poll over HTTP/1.1 in the clear the
// server counts its requests' and answers' heads (heads_in, heads_out), and
// the framing is the rest. For the streams it counts framing and heartbeats
// where they are written and read (framing_in/out, heartbeats_in/out, by
// the wire inspector's rules: a ping's chunk and frames are heartbeats,
// the hello's header is framing); in the clear it sees all of them, and
// over HTTP/2 an SSE stream's (no chunks there), but over TLS with HTTP/1.1
// it cannot see net/http's chunks or a client's frames: there they are
// computed. The panel's data-cost-measured lists the parts counted, and
// its text says which. Under
// HTTP/2 the server counts a transport's bytes frame by frame (its
// "http2" in /api/stats): each frame's 9-byte header is framing, measured;
// an SSE event travels in a DATA frame instead of a chunk; and the HPACK
// header blocks it counted are shown beside the split (they are in the
// rest: headers or handshakes). Over HTTP/2, TLS and the connection's own
// frames are counted apart, in no transport.
//
// Compressed (--compress, and the panel's mark says this tab's connection
// is), the messages' decoded size is not their size on the wire, and a
// message and its framing are in one compressed body: the split is then
// zippedParts', with the compressed part in the messages' row.
const PARTS = ['messages', 'headers', 'framing', 'handshakes', 'heartbeats'];

function costParts(panel, a, b) {
  const A = a.s.transports[panel.key], B = b.s.transports[panel.key];
  const seconds = (b.at - a.at) / 1000;
  const total = (B.bytes_in + B.bytes_out) - (A.bytes_in + A.bytes_out);
  const messages = B.messages - A.messages;
  const requests = B.requests - A.requests;
  const clients = (A.clients + B.clients) / 2;
  const mean = (list, f) => list.length ? list.reduce((n, x) => n + f(x), 0) / list.length : 0;
  const sizes = panel.sizes.length ? panel.sizes : Object.values(byKey).flatMap(p => p.sizes);
  const decoded = messages * mean(sizes, x => x.bytes);
  const h2 = (s, k) => s.http2 ? s.http2[k + '_in'] + s.http2[k + '_out'] : 0;
  const frames = h2(B, 'frames') - h2(A, 'frames'), hpack = h2(B, 'headers') - h2(A, 'headers');
  const split = panel.el.dataset.compressed ? zippedParts(panel, A, B, frames) : plainParts(panel, A, B, {
    seconds, messages, requests, clients, frames, decoded, mean,
  });
  const parts = { messages: 0, headers: 0, framing: 0, handshakes: 0, heartbeats: 0, zipped: 0, ...split.parts };
  const fitted = fit(parts, split.rest, total);
  return {
    ...split, parts, total, messages, requests, seconds, frames, hpack, fitted,
    zip: split.rest === 'zipped', decoded,
    from: A.bytes_in + A.bytes_out, to: B.bytes_in + B.bytes_out,
    published: (b.s.feed.published - a.s.feed.published) / Math.max(seconds, 1e-9),
    delivered: messages / Math.max(seconds, 1e-9),
  };
}

// counted is what the server counted of kind k (heads, framing,
// heartbeats) in a transport's figures from A to B, both ways.
function counted(A, B, k) {
  const both = s => (s[k + '_in'] ?? 0) + (s[k + '_out'] ?? 0);
  return both(B) - both(A);
}

// plainParts splits an uncompressed transport's bytes (see PARTS): all
// but the rest, which fit makes the total less the others.
function plainParts(panel, A, B, { seconds, messages, requests, clients, frames, decoded, mean }) {
  const parts = { messages: decoded, framing: 0, heartbeats: 0 };
  // The streams' framing and heartbeats, as the server counted them.
  const stream = panel.key === 'sse' || panel.key === 'ws';
  const wireCounted = stream && B.framing_out !== undefined &&
    (location.protocol === 'http:' || panel.key === 'sse' && panel.client?.saidProto === 'HTTP/2.0');
  switch (wireCounted ? 'counted' : panel.key) {
    case 'counted':
      parts.framing = counted(A, B, 'framing');
      parts.heartbeats = counted(A, B, 'heartbeats');
      break;
    case 'poll':
    case 'longpoll':
      parts.framing = requests * mean(panel.answers, x => x.framing);
      break;
    case 'sse':
      parts.framing = messages * mean(panel.sizes, x => x.framing);
      parts.heartbeats = clients * seconds / (config.sse.keepalive_ms / 1000) * config.heartbeats.sse_bytes;
      break;
    case 'ws':
      parts.framing = messages * mean(panel.sizes, x => x.framing);
      parts.heartbeats = clients * seconds / (config.ws.heartbeat_ms / 1000) * config.heartbeats.ws_bytes;
      break;
  }
  parts.framing += frames * 9; // the frame headers of the HTTP/2 streams, as counted
  // The server counts HTTP/1.1 heads in the clear (heads_in, heads_out):
  // a poll's headers are then measured, and the answers' JSON around their
  // messages is the rest, where this tab's own answers gave an estimate.
  const heads = counted(A, B, 'heads');
  const poll = panel.key === 'poll' || panel.key === 'longpoll';
  const headsCounted = poll && heads > 0 && frames === 0;
  let rest = poll ? 'headers' : 'handshakes';
  if (headsCounted) {
    parts.headers = heads;
    delete parts.framing;
    rest = 'framing';
  }
  const measured = headsCounted ? ['headers'] : wireCounted ? ['framing', 'heartbeats'] : [];
  const computed = stream ? ['framing', 'heartbeats'].filter(k => !measured.includes(k)) : rest === 'framing' ? [] : ['framing'];
  return { parts, rest, measured, computed };
}

// zippedParts splits a compressed transport's bytes. Compressed (the
// panel's mark, renderZip), a message and what wraps it travel inside one
// compressed body: a poll answer's JSON, an SSE event's fields and the
// keepalive comments between them, a WebSocket message's payload (the
// page's own pings among them: the browser compresses every message it
// sends). The server counts the body's bytes as they crossed the socket,
// which cannot be told apart there, so they are one part, "zipped": the
// rest, once the parts the server counted apart are taken out. Those are
// the heads of the requests and responses (over HTTP/1.1 in the clear:
// a poll's headers, a stream's handshake), the framing outside the
// compressed bodies (a WebSocket frame's header, an HTTP/1.1 chunk's size
// line, an HTTP/2 frame's header) and the WebSocket's ping and pong
// frames, never compressed. Nothing is computed: a rule applied to the
// decoded sizes would say nothing of the compressed ones. Where the heads
// are not counted (over TLS or HTTP/2) they are in the rest too, and its
// name says so. The rest is also what went uncompressed in a compressed
// transport: a poll answer gzip would not make smaller, and the bodies of
// any client that offered no compression (the split is of all clients).
// The messages' decoded size, the deliveries × the mean size this tab
// received, is shown beside the split: it is not on the wire.
function zippedParts(panel, A, B, frames) {
  const poll = panel.key === 'poll' || panel.key === 'longpoll';
  const head = poll ? 'headers' : 'handshakes';
  const parts = { framing: frames * 9 }, measured = [];
  const heads = counted(A, B, 'heads');
  if (heads > 0 && frames === 0) {
    parts[head] = heads;
    measured.push(head);
  }
  if (!poll) {
    parts.framing += counted(A, B, 'framing');
    if (panel.key === 'ws') parts.heartbeats = counted(A, B, 'heartbeats'); // SSE's are compressed with the events
  }
  if (parts.framing > 0) measured.push('framing');
  if (parts.heartbeats > 0) measured.push('heartbeats');
  const name = measured.includes(head) ? 'zipped' : poll ? 'zippedHeaders' : 'zippedHandshakes'; // what the rest holds
  return { parts, rest: 'zipped', name, measured, computed: [] };
}

// fit makes the rest the total less the other parts. Each part is a count
// or an estimate within the window's bytes, but the counters are read one
// after another and an estimate may miss, so the others can come to more
// than the total: then they are cut in proportion, so that no part is
// below zero and they still add up to the total, and fit says it did.
function fit(parts, rest, total) {
  parts[rest] = 0;
  const others = Object.values(parts).reduce((n, v) => n + v, 0);
  if (others <= total) {
    parts[rest] = total - others;
    return false;
  }
  for (const k of Object.keys(parts)) parts[k] *= total / others;
  return true;
}

// messageFraming is what wraps one message of bytes on the wire, in the
// transport of key (see costParts): a poll's is per answer, not here.
// Under HTTP/2 an SSE event has no chunk around it: its DATA frame's
// header is counted by the server (costParts).
function messageFraming(key, bytes, id, epoch, h2) {
  if (key === 'ws') return bytes < 126 ? 2 : bytes < 65_536 ? 4 : 10;
  if (key === 'sse') {
    const event = `id: ${epoch}:${id}\ndata: \n\n`.length + bytes;
    if (h2) return event - bytes;
    return event - bytes + event.toString(16).length + 4; // the chunk: hex size, CRLF, data, CRLF
  }
  return 0;
}

// closeText says what a WebSocket close code means: in the server's words
// (its table in GET /api/config), or a translation of them keyed by code;
// the few codes that do not come from the server (1006) are the page's own.
function closeText(code) {
  return t('why.close', { code, meaning: closeMeaning(code) });
}

function closeMeaning(code) {
  const row = config.ws.close_codes.find(c => c.code === code);
  return tOr(`code.${code}`, row?.meaning ?? t('code.unknown'));
}

function quantile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

// ms writes a duration in ms in the page's language: 0.25 ms, 12 ms, 1.50 s.
function ms(v) {
  if (v === null || v === undefined) return '–';
  if (v >= 1000) return t('unit.sOf', { v: num(v / 1000, v % 1000 === 0 ? 0 : 2) });
  return t('unit.msOf', { v: num(v, v < 10 && v % 1 !== 0 ? 2 : 0) });
}

// messageItem renders one message as text only: its data is whatever a
// stranger published, so it never goes near innerHTML.
function messageItem(m, latency) {
  const li = document.createElement('li');
  li.dataset.id = m.id;
  const part = (cls, text) => {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = text;
    li.append(span, ' ');
    return span;
  };
  const d = m.data;
  const isChat = d !== null && typeof d === 'object' && typeof d.text === 'string';
  part('id', `#${m.id}`);
  if (isChat && typeof d.user === 'string') part('user', `${d.user}:`);
  part('text', isChat ? d.text : typeof d === 'string' ? d : JSON.stringify(d));
  part('lat', ms(latency)).dataset.ms = latency; // kept: the unit follows the language
  return li;
}

// noteItem is a notice in a panel's list; it keeps its key and figures, so
// that a language switch writes it again (retranslate).
function noteItem(key, params = {}) {
  const li = document.createElement('li');
  li.className = 'note';
  li.dataset.note = key; // missed, reset, watchdog, resent: for the curious and the tests
  say(li, key, params);
  return li;
}

// failure is what went wrong with a request, as a text of ours
// ({key, params}, for t): the browser's known failures by name (the
// page's offline switch, a network error, a deadline, an abort), an answer
// of the server in its words, the page's own checks, and anything else
// quoted as the browser said it.
function failure(err) {
  if (err?.said) return err.said;
  if (err?.name === 'OfflineError') return { key: 'err.offline' };
  if (err?.name === 'TimeoutError') return { key: 'err.timeout' };
  if (err?.name === 'AbortError') return { key: 'err.aborted' };
  if (err instanceof HTTPError) return err.message; // the server's words (or the status line's)
  if (err instanceof TypeError && /failed to fetch|networkerror|load failed/i.test(err.message)) return { key: 'err.fetch' };
  return { key: 'err.browser', params: { message: String(err?.message ?? err) } };
}

// say sets el's text to t(key, params), and keeps both on el, so that
// retranslate can write it again in another language.
function say(el, key, params = {}) {
  el.classList.remove('bad');
  el.dataset.say = key;
  el.dataset.sayParams = JSON.stringify(params);
  el.textContent = t(key, params);
}

// retranslate writes every text set by say, and every latency, again.
function retranslate() {
  for (const el of document.querySelectorAll('[data-say]')) el.textContent = t(el.dataset.say, JSON.parse(el.dataset.sayParams));
  for (const el of document.querySelectorAll('.messages .lat[data-ms]')) el.textContent = ms(Number(el.dataset.ms));
}

// ---------------------------------------------------------------------------
// The verdict: the reader's answers, the bench's steady-state figures and
// verdict.js's rules. One source, named on the page with its run and
// machine: the live figures move with their 30 s window (a cut, a burst of
// handshakes) and are shown in the panels and the table above, not here.
let bench = null; // the bench's last report, bench-report.json
// The bench's run through the emulated links, links-bench.json: on a link,
// the latency the guide expects of each transport is that run's, not the
// loopback report's.
let linksBench = null;

function benchRow(key) {
  return bench?.results.find(r => r.target === 'fourway' && r.transport === key) ?? null;
}

// perTransport is the bench's figures for each transport: overhead bytes
// per message in steady state, per request for the polls, the handshake
// per connection (both ways), and the latency p50.
function perTransport() {
  const per = {};
  for (const k of KEYS) {
    const w = benchRow(k)?.wire;
    per[k] = {
      overhead: w?.overhead_per_msg ?? null,
      perRequest: w && w.requests_per_msg > 0 ? w.overhead_per_msg / w.requests_per_msg : null,
      handshake: w ? (w.handshake_down ?? 0) + (w.handshake_up ?? 0) : null,
      p50: benchRow(k)?.latency_ms.p50 ?? null,
    };
  }
  return per;
}

// benchLabel is the bench run's machine and date, as the page writes them
// beside its figures.
function benchLabel() {
  const m = bench.machine ?? {};
  return t('v.machine', { cpu: m.cpu ?? '?', cores: m.cores ?? '?', date: day(Date.parse(bench.started)) });
}

// count writes a count a minute: whole, or with one decimal when it has
// a fraction (4.8 pings a minute at 25 s).
function count(v) {
  return num(v, Math.abs(v - Math.round(v)) > 1e-6 ? 1 : 0);
}

// reasonParams writes a reason's numbers in the page's language: Mbps with
// two decimals, counts a minute with one under 10.
function reasonParams(params = {}) {
  const out = {};
  for (const [k, v] of Object.entries(params)) {
    out[k] = typeof v !== 'number' ? v : k === 'mbps' || k === 'limit' ? num(v, 2) : count(v);
  }
  return out;
}

function renderVerdict() {
  if (!config) return;
  const lifetime = parseSeconds($('#v-lifetime').value); // a number as typed, here of minutes
  const q = {
    direction: $('#v-direction').value,
    rate: Math.max(0, Number($('#v-rate').value) || 0),
    clients: Math.max(1, Math.round(Number($('#v-clients').value) || 1)),
    proxy: $('#v-proxy').checked, http2: $('#v-http2').checked, battery: $('#v-battery').checked,
  };
  const source = $('#verdict-source');
  const pick = $('#verdict-pick');
  if (lifetime === null || lifetime <= 0) {
    refuse(source, 'v.badLifetime', { value: $('#v-lifetime').value.trim() });
    pick.dataset.pick = '';
    pick.textContent = '';
    $('#verdict-reasons').replaceChildren();
    return;
  }
  const per = perTransport();
  const m = measured(linksBench, link, q.rate); // on a link: the run through it
  if (m) {
    for (const k of KEYS) {
      const [lo, hi] = span(m.rows[k].p50);
      per[k].p50 = (lo + hi) / 2;
    }
  }
  const sourceText = (bench ? t('v.source', { run: benchLabel(), version: bench.versions?.[0] ?? '', lifetime: num(lifetime, lifetime % 1 ? 1 : 0) })
    : t('v.sourceNone', { lifetime: num(lifetime, lifetime % 1 ? 1 : 0) })) + (m ? t('v.sourceLink', linkSource(m)) : '');
  source.classList.remove('bad');
  source.dataset.source = bench ? 'bench' : '';
  source.dataset.link = m ? m.as : '';
  if (source.textContent !== sourceText) source.textContent = sourceText;
  const fig = figures(q, per, {
    interval: byKey.poll.client?.interval / 1000 || 3, keepalive: config.sse.keepalive_ms / 1000,
    heartbeat: config.ws.heartbeat_ms / 1000, hold: byKey.longpoll.client?.timeout ?? timeouts(config).default,
    lifetime, heartbeats: config.heartbeats,
  });
  const v = verdict(q, fig);
  pick.dataset.pick = v.pick;
  pick.dataset.fallback = v.fallback ?? '';
  const text = v.fallback ? t('v.pickFallback', { pick: t(v.pick), fallback: t(v.fallback) }) : t('v.pick', { pick: t(v.pick) });
  if (pick.textContent !== text) pick.textContent = text;
  const list = $('#verdict-reasons');
  if (m) v.reasons.unshift({ key: 'v.link', params: linkReason(m) });
  list.replaceChildren(...v.reasons.map(r => {
    const li = document.createElement('li');
    li.dataset.reason = r.key;
    li.textContent = t(r.key, reasonParams(r.params));
    return li;
  }));
  // The table, ranked as the reader asked: by wake-ups when the battery
  // matters, else by overhead.
  const order = rank(KEYS, fig, q.battery);
  const body = $('#verdict-table tbody');
  body.dataset.order = order.join(' ');
  body.replaceChildren(...order.map(k => {
    const f = fig[k], tr = document.createElement('tr');
    tr.dataset.transport = k;
    const poll = k === 'poll' || k === 'longpoll';
    const b = poll ? per[k].perRequest : per[k].overhead;
    const cells = [
      t(k),
      b === null ? '–' : t('v.overhead', { b: num(b, 1), per: t(poll ? 'v.perRequest' : 'v.perMessage'), run: benchLabel() }),
      count(f.requests),
      count(f.wakeups),
      num(f.mbps, 3),
      m ? msSpan(m.rows[k].p50) : ms(f.p50),
    ];
    for (const [i, c] of cells.entries()) {
      const td = document.createElement(i === 0 ? 'th' : 'td');
      if (i === 0) td.scope = 'row';
      td.textContent = c;
      if (i === 3) td.className = 'wakeups';
      tr.append(td);
    }
    return tr;
  }));
}

// msSpan writes the figures of a row's rounds: "156 ms" when they agree to
// the ms, "414–417 ms" when not.
function msSpan(values) {
  const [lo, hi] = span(values).map(Math.round);
  return lo === hi ? ms(lo) : t('unit.msSpan', { lo: num(lo), hi: num(hi) });
}

// linkSource names the run a link's latencies come from, for the line
// above the pick: its directory, machine and date, the rate and readers.
function linkSource(m) {
  const b = linksBench;
  return {
    name: link.name, as: m.as, run: b.run.split('/').at(-1),
    machine: t('v.machine', { cpu: b.machine.cpu, cores: b.machine.cores, date: day(Date.parse(b.started)) }),
    rate: num(m.rate), rounds: m.rounds, subs: num(b.subscribers),
  };
}

// linkReason is the reason that says what each transport delivers in on
// this link, as the run measured it.
function linkReason(m) {
  const p50 = k => msSpan(m.rows[k].p50);
  return {
    name: link.name, rtt: num(link.rtt_ms), oneWay: ms(link.rtt_ms / 2),
    sse: p50('sse'), ws: p50('ws'), longpoll: p50('longpoll'), poll: p50('poll'),
    interval: ms(linksBench.poll_interval_ms), rate: num(m.rate),
  };
}

// ---------------------------------------------------------------------------
// The wire inspector: while a panel's "bytes on the wire" is open, the page
// asks GET /api/inspect every INSPECT_MS (which keeps the server recording)
// and shows that transport's newest exchange; the WebSocket's is this
// page's own connection (?client=). Closed, nothing is asked and the server
// stops recording after its lease.
const INSPECT_MS = 2_000;
let inspected = null; // the last answer

async function watchWire() {
  for (;;) {
    const open = panels.filter(p => p.field('wire').open);
    if (open.length) {
      try {
        inspected = await request(`api/inspect?client=${encodeURIComponent(clientID)}`, { timeout: 5_000 });
        for (const p of open) renderWire(p);
      } catch (err) {
        for (const p of open) say(p.field('wire-note'), 'wire.failed', { error: failure(err) });
      }
    }
    await sleep(INSPECT_MS);
  }
}

function renderWire(p) {
  // A poll's newest exchange may be one still held at the server, with no
  // answer yet: show the newest that has one.
  const list = inspected?.transports[p.key] ?? [];
  const x = list.findLast(e => e.response.bytes > 0) ?? list.at(-1);
  const note = p.field('wire-note');
  if (!x) {
    say(note, p.key === 'poll' || p.key === 'longpoll' ? 'wire.waitingPoll' : 'wire.waitingStream');
    p.field('wire-box').replaceChildren();
    return;
  }
  say(note, 'wire.shown', { id: x.id, at: { time: x.started } });
  renderExchange(p.field('wire-box'), x, t);
}

// ---------------------------------------------------------------------------
// The page.

const panels = TRANSPORTS.map(tr => new Panel(tr));
const byKey = Object.fromEntries(panels.map(p => [p.key, p]));
// The fifth panel, "auto": long polling upgraded to WebSocket. It is not one
// of the four the server counts, so it is kept apart from panels.
const autoPanel = new Panel({ key: 'auto', Client: AutoClient, cut: null });
autoPanel.el.dataset.client = autoClientID;
byKey.ws.el.dataset.client = clientID; // the WebSocket's client id, for the curious and the tests

// showPanel shows the panel of key on a phone, where the strip above the
// panels names all of them with their latency and one panel is shown at a
// time (style.css); on a wider screen every panel is shown anyway.
function showPanel(key) {
  for (const p of [...panels, autoPanel]) {
    p.el.classList.toggle('shown', p.key === key);
    $(`#strip-${p.key}`).setAttribute('aria-pressed', String(p.key === key));
    if (p.key === key) p.dirty = true; // its chart was not drawn while hidden
  }
}

function buildCompareTable() {
  const body = $('#compare tbody');
  for (const { key } of TRANSPORTS) {
    const tr = document.createElement('tr');
    tr.dataset.transport = key;
    const cell = (tag, i18n, cls) => {
      const c = document.createElement(tag);
      if (i18n) c.dataset.i18n = i18n;
      if (cls) c.className = cls;
      if (tag === 'th') c.scope = 'row';
      tr.append(c);
    };
    cell('th', key);
    cell('td', `cmp.${key}.direction`);
    cell('td', null, 'overhead');
    cell('td', null, 'latency');
    cell('td', `cmp.${key}.proxies`);
    cell('td', `cmp.${key}.sixConn`);
    cell('td', `cmp.${key}.support`);
    body.append(tr);
  }
}

function renderCompare() {
  for (const p of panels) {
    const row = document.querySelector(`#compare tr[data-transport="${p.key}"]`);
    row.querySelector('.overhead').textContent = p.overhead == null ? '–'
      : t(p.cost?.zip ? 'cost.perMessageZip' : 'cost.perMessage', { per: num(p.overhead, 1) });
    row.querySelector('.latency').textContent = ms(p.p50);
  }
}

// config is the server's GET /api/config: the figures and rules the page
// must not guess (the long poll's timeouts, the SSE keepalive, the close
// codes). Nothing starts without it: a page that guessed would show a
// timeout, a countdown or a close code's meaning that may not be the
// server's. configWait is why it is not there yet: {error, at}, the next try.
let config = null;
let configWait = null;

// readConfig reads the server's settings, and while it cannot, says so on
// the page and tries again with backoff.
async function readConfig() {
  const backoff = new Backoff();
  for (;;) {
    try {
      config = checkConfig(await request('api/config'));
      if (configWait !== null) for (const p of panels) p.setState({ name: 'connecting' });
      configWait = null;
      renderConfigNote();
      return;
    } catch (err) {
      const delay = backoff.next();
      configWait = { error: failure(err), at: Date.now() + delay };
      for (const p of panels) p.setState({ name: 'waiting', why: 'config' });
      renderConfigNote();
      await sleep(delay);
    }
  }
}

// missing is the error of a settings answer without field, said in the
// page's words (failure).
function missing(field) {
  const err = new Error(`the answer has no ${field}`);
  err.said = { key: 'config.missing', params: { field } };
  return err;
}

// checkConfig returns c if it holds what the page reads from it.
function checkConfig(c) {
  for (const [part, field] of [['longpoll', 'timeout_ms'], ['longpoll', 'timeout_max_ms'], ['sse', 'keepalive_ms']]) {
    if (typeof c?.[part]?.[field] !== 'number') throw missing(`${part}.${field}`);
  }
  if (!Array.isArray(c.ws?.close_codes)) throw missing('ws.close_codes');
  for (const field of ['sse_bytes', 'ws_bytes']) {
    if (typeof c.heartbeats?.[field] !== 'number') throw missing(`heartbeats.${field}`);
  }
  return c;
}

// renderConfigNote says why the page waits for its settings. The problem
// is an alert, said once; the countdown beside it is not read out each
// second.
function renderConfigNote() {
  $('#config-note').hidden = configWait === null;
  if (configWait === null) return;
  const set = (el, text) => { if (el.textContent !== text) el.textContent = text; };
  set($('#config-problem'), t('config.failed', { error: configWait.error }));
  set($('#config-retry'), t('config.retry', { s: Math.max(0, Math.ceil((configWait.at - Date.now()) / 1000)) }));
}

// startWait is why the clients have not started though the settings are
// read: the server is starting (its feed is not open yet, and it answers
// 503 with the reason): {reason, at}, the next try.
let startWait = null;

// renderStartNote says that the server is starting, and why.
function renderStartNote() {
  $('#start-note').hidden = startWait === null;
  if (startWait === null) return;
  const set = (el, text) => { if (el.textContent !== text) el.textContent = text; };
  set($('#start-problem'), t('start.waiting', { reason: startWait.reason }));
  set($('#start-retry'), t('config.retry', { s: Math.max(0, Math.ceil((startWait.at - Date.now()) / 1000)) }));
}

// start reads the server's settings, learns where the feed is now and
// starts all four clients from that one position, so that every panel
// should show exactly the same messages. The position is a pair, the last
// id and the epoch it counts in, and it must come from one answer: a poll
// with no cursor reads "from now" and answers with no message, "next" (the
// last id) and "epoch". (/api/stats has the last id but not the epoch.) It
// is this tab's request to /api/poll, so the short-poll panel counts it, as
// the server's figures do.
async function start() {
  await readConfig();
  setFacts({ keepalive: config.sse.keepalive_ms / 1000 });
  const timeout = $('#lp-timeout');
  timeout.max = timeouts(config).max;
  timeout.value = timeouts(config).default;
  timeout.disabled = false;
  $('#ticker-every').value = String(config.ticker_ms / 1000);
  wireNetwork();
  const backoff = new Backoff();
  for (;;) {
    try {
      const page = await request('api/poll?limit=1');
      byKey.poll.notice({ type: 'request' });
      byKey.poll.notice({ type: 'empty' });
      startWait = null;
      renderStartNote();
      for (const p of [...panels, autoPanel]) p.start(page.next, page.epoch);
      applyControls();
      return;
    } catch (err) {
      const delay = backoff.next();
      if (err instanceof HTTPError && err.starting !== null) { // the server is up, its feed not yet: say so
        startWait = { reason: err.starting, at: Date.now() + delay };
        for (const p of panels) p.setState({ name: 'waiting', why: 'starting', reason: err.starting });
        renderStartNote();
      }
      await sleep(delay);
    }
  }
}

// statsSamples are the answers of /api/stats over the cost window, {at
// (performance.now()), s}, oldest first: the first is the window's start.
const statsSamples = [];

async function pollStats() {
  for (;;) {
    try {
      const s = await request('api/stats', { timeout: 5_000 });
      const now = performance.now();
      statsSamples.push({ at: now, s });
      document.body.dataset.statsAt = now; // the last reading: for the curious and the tests
      while (statsSamples.length > 2 && now - statsSamples[1].at >= COST_MS) statsSamples.shift();
      document.body.dataset.feedLastId = s.feed.last_id;
      for (const p of panels) {
        p.renderStats(s.transports[p.key]);
        if (config && statsSamples.length > 1) p.renderCost(statsSamples[0], statsSamples.at(-1));
      }
      renderCompare();
    } catch { /* offline or stuck: the counters wait */ }
    await sleep(1_000);
  }
}

// checkConnectionLimit explains HTTP/1.1's six connections per host when
// they bite: a short request waiting seconds on loopback, or a panel stuck
// connecting, while the WebSocket (pooled apart) is fine.
function checkConnectionLimit() {
  const note = $('#limit-note');
  const now = performance.now();
  const wsFine = byKey.ws.state.name === 'open';
  let oldest = 0;
  for (const r of briefRequests) oldest = Math.max(oldest, now - r.started);
  for (const p of panels) {
    if (p.key !== 'ws' && p.state.name === 'connecting') oldest = Math.max(oldest, now - p.since);
  }
  let text = null;
  if (multiplexed) oldest = 0; // over HTTP/2 there is no such limit: a slow request is slow for another reason
  if (wsFine && !network.offline && oldest > STUCK_MS) text = t('limit.stuck', { s: Math.round(oldest / 1000) });
  else if (panels.some(p => p.state.name === 'waiting' && p.state.why === 'slot')) text = t('limit.slot');
  note.hidden = text === null;
  note.dataset.kind = text === null ? '' : oldest > STUCK_MS ? 'stuck' : 'slot';
  if (text !== null && note.textContent !== text) note.textContent = text;
}

// renderProtoNote says what this page came over, as the browser measured
// it, and what that means for the held-connection slots: needed over
// HTTP/1.1, open over HTTP/2 (network.js). A page that cannot tell (from a
// cache) says nothing.
function renderProtoNote() {
  const note = $('#proto-note');
  note.hidden = pageProtocol === null;
  if (pageProtocol === null) return;
  note.dataset.kind = multiplexed ? 'multiplexed' : 'slots';
  note.textContent = t(multiplexed ? 'proto.multiplexed' : 'proto.slots', { proto: pageProtocol });
}

// A hidden tab lends its held connections (SSE, long poll) to a tab that
// waits for one, and takes them back, resuming from its cursors, when shown.
async function lendHeldConnections() {
  const held = [byKey.sse, byKey.longpoll];
  if (held.some(p => !p.client)) return; // not started yet
  const lent = p => p.state.name === 'waiting' && p.state.why === 'hidden';
  if (document.visibilityState === 'hidden') {
    if (!held.every(lent) && await slotsWanted()) {
      for (const p of held) if (!lent(p)) p.client.stop('hidden');
    }
  } else {
    for (const p of held) {
      if (p.state.name === 'waiting' && p.state.why === 'hidden') p.client.start(p.client.cursor, p.client.epoch);
    }
  }
}

async function publish(data) {
  const t0 = pageNow();
  const r = await request('api/messages', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(data),
  });
  clock.published(t0, pageNow(), r.time);
  return r;
}

function wireControls() {
  const lang = $('#lang');
  lang.value = defaultLang();
  lang.addEventListener('change', () => {
    localStorage.setItem('fourway.lang', lang.value);
    setLang(lang.value);
    renderAll();
  });

  $('#publish').addEventListener('submit', async e => {
    e.preventDefault();
    const text = $('#text'), status = $('#publish-status');
    try {
      const r = await publish({ user: $('#name').value || 'anon', text: text.value });
      say(status, 'sent', { id: r.id });
      text.value = '';
    } catch (err) {
      say(status, 'sendFailed', { error: failure(err) });
    }
  });

  // Auto-publish: rate messages per second, at most four publishes in
  // flight (a slow server gets fewer, not a pile-up).
  const rate = $('#rate');
  let timer = null, n = 0, inFlight = 0;
  rate.addEventListener('input', () => {
    $('#rate-value').textContent = rate.value;
    clearInterval(timer);
    if (Number(rate.value) === 0) return;
    timer = setInterval(() => {
      if (inFlight >= 4) return;
      inFlight++;
      publish({ user: $('#name').value || 'auto', text: `auto ${++n}` })
        .catch(() => {})
        .finally(() => inFlight--);
    }, 1000 / Number(rate.value));
  });

  wireTeacherControls();

  $('#poll-interval').addEventListener('change', applyControls);
  $('#lp-timeout').addEventListener('change', applyControls);

  for (const button of document.querySelectorAll('button.cut')) {
    button.addEventListener('click', async () => {
      const status = $('#fault-status');
      try {
        const r = await request(`api/drop?transport=${button.dataset.transport}`, { method: 'POST' });
        say(status, 'cutDone', { n: r.dropped });
      } catch (err) {
        say(status, 'cutFailed', { error: failure(err) });
      }
    });
  }

  const offline = $('#offline');
  offline.addEventListener('click', () => {
    if (network.offline) return;
    network.goOffline(OFFLINE_MS);
    offline.setAttribute('aria-pressed', 'true');
  });
  network.addEventListener('online', () => {
    document.body.dataset.onlineAt = Math.round(performance.now()); // for the curious and the tests
    offline.setAttribute('aria-pressed', 'false');
    renderAll();
  });

  // At 390 px the table is wider than the screen: say that it scrolls.
  const scroller = $('.table-scroll');
  const hint = () => { $('#compare-scroll').hidden = scroller.scrollWidth <= scroller.clientWidth + 1; };
  new ResizeObserver(hint).observe(scroller);
  scroller.addEventListener('scroll', () => scroller.classList.toggle('scrolled', scroller.scrollLeft > 0));
}

// wireTeacherControls: the built-in ticker (POST /api/ticker, 0 for a quiet
// feed), a reset of this tab's counters, a pause of all four clients (each
// resumes from its cursor), and large type for a projector.
function wireTeacherControls() {
  const status = $('#teach-status');
  // The ticker field shows the server's ticker as GET /api/config said it
  // (start). Set sends what it holds, and only a number: an empty field is
  // not 0, and stopping the ticker for every viewer takes the word 0.
  $('#ticker-set').addEventListener('click', async () => {
    const field = $('#ticker-every');
    const s = parseSeconds(field.value);
    if (s === null) return refuse(status, field.value.trim() ? 'tickerBad' : 'tickerEmpty', { value: field.value.trim() });
    if (s > 0 && (s < 0.01 || s > 86_400)) return refuse(status, 'tickerRange', { value: field.value.trim() });
    try {
      const r = await request(`api/ticker?every=${s === 0 ? '0' : `${Math.round(s * 1000)}ms`}`, { method: 'POST' });
      // The server's words for the period ("20ms"), and the page's, in its language.
      say(status, r.every === '0s' ? 'tickerOff' : 'tickerOn', { every: r.every, s: { key: 'unit.sOf', params: { v: s } } });
    } catch (err) {
      refuse(status, 'tickerFailed', { error: failure(err) });
    }
  });
  $('#reset-counters').addEventListener('click', () => {
    for (const p of [...panels, autoPanel]) p.resetCounters();
    statsSamples.splice(0, statsSamples.length - 1); // the cost window starts again from the last reading
    say(status, 'countersReset');
  });
  const pause = $('#pause');
  pause.addEventListener('click', () => {
    const paused = pause.getAttribute('aria-pressed') !== 'true';
    pause.setAttribute('aria-pressed', String(paused));
    pause.dataset.i18n = paused ? 'resume' : 'pause';
    pause.textContent = t(pause.dataset.i18n);
    for (const p of [...panels, autoPanel]) {
      if (!p.client) continue;
      if (paused) p.client.stop('paused');
      else p.client.start(p.client.cursor, p.client.epoch);
    }
  });
  const block = $('#block-ws');
  block.addEventListener('click', async () => {
    const off = block.getAttribute('aria-pressed') !== 'true';
    try {
      await request(`api/block?client=${encodeURIComponent(autoClientID)}&ws=${off ? 'off' : 'on'}`, { method: 'POST' });
      block.setAttribute('aria-pressed', String(off));
      block.dataset.i18n = off ? 'allowWS' : 'blockWS';
      block.textContent = t(block.dataset.i18n);
      say($('#fault-status'), off ? 'blockedWS' : 'allowedWS');
    } catch (err) {
      say($('#fault-status'), 'blockFailed', { error: failure(err) });
    }
  });
  const present = $('#present');
  present.addEventListener('click', () => {
    const on = present.getAttribute('aria-pressed') !== 'true';
    present.setAttribute('aria-pressed', String(on));
    if (on) document.documentElement.dataset.present = '';
    else delete document.documentElement.dataset.present;
  });
}

// ---------------------------------------------------------------------------
// The network: the links in front of the server (links.js). The choice
// reloads the page through the chosen link, so that all five panels are on
// it at once; the page says which link it is on, and the way back. On a
// link, the tunnel button silences it.

// link is the link this page is on (GET /api/config's), null when direct;
// direct, the server's own address when known.
let link = null;
let direct = null;

// linkRTT is the link's round trip in ms; 0 when direct.
const linkRTT = () => link?.rtt_ms ?? 0;

// wireNetwork shows the network choice when the server opened links, and
// the tunnel when the page is on one.
function wireNetwork() {
  const links = config.links ?? [];
  link = onLink(config);
  direct = directURL(config);
  document.body.dataset.link = link?.name ?? '';
  if (link) {
    $('#verdict-table th[data-i18n="v.col.p50"]').dataset.i18n = 'v.col.p50link';
    setFacts({ link: link.name }); // and fills the page's text again
  }
  if (!links.length) return;
  const select = $('#network');
  select.closest('label').hidden = false;
  $('#network-help').hidden = false;
  if (direct) select.append(new Option('', ''));
  for (const l of links) select.append(new Option('', l.name));
  select.value = link?.name ?? '';
  select.addEventListener('change', () => {
    const to = links.find(l => l.name === select.value) ?? null;
    if (!to && !direct) return;
    location.assign(linkURL(to, direct));
  });
  if (link) {
    $('#link-note').hidden = false;
    const back = $('#link-back');
    back.hidden = !direct;
    if (direct) back.href = direct;
    const tunnel = $('#tunnel');
    tunnel.hidden = false;
    $('#tunnel-help').hidden = false;
    tunnel.addEventListener('click', () => startTunnel(tunnel));
  }
  renderNetwork();
  renderVerdict();
}

// linkFacts are a link's figures for its texts: its round trip, and its
// bandwidths in Mbit/s ("not limited" when it has none).
function linkFacts(l) {
  const mbps = kbps => kbps ? num(kbps / 1000, kbps % 1000 === 0 ? 0 : kbps % 100 === 0 ? 1 : 2) : null;
  const down = mbps(l.down_kbps), up = mbps(l.up_kbps);
  return { name: l.name, rtt: num(l.rtt_ms), bandwidth: down === null && up === null ? { key: 'net.unlimited' } : { key: 'net.bandwidth', params: { down: down ?? '∞', up: up ?? '∞' } } };
}

// renderNetwork writes the network choice and the line that says which
// link the page is on, in the page's language.
function renderNetwork() {
  if (!config?.links?.length) return;
  for (const o of $('#network').options) {
    const l = config.links.find(x => x.name === o.value);
    const text = l ? t('net.option', linkFacts(l)) : t('net.direct');
    if (o.textContent !== text) o.textContent = text;
  }
  $('#network-help').textContent = t('net.help');
  if (!link) return;
  const f = linkFacts(link);
  $('#link-on').textContent = t(link.outage_every_ms ? 'net.onOutages' : 'net.on', { ...f, every: num(link.outage_every_ms / 1000), for: num(link.outage_ms / 1000) });
  $('#link-back').textContent = t('net.back');
  $('#tunnel-help').textContent = t('tunnel.help', { s: TUNNEL_MS / 1000, name: link.name });
  renderTunnelButton();
}

// silence is the page's reckoning of the link's tunnel, {start, end} on
// performance.now(), null before the first.
let silence = null;

// startTunnel asks the server to silence this page's link (POST
// /api/tunnel) and starts each panel's account of it. The request goes up
// the link before the silence, so the server starts it about half a round
// trip after the click (no jitter in the table's profiles); its answer is
// held with everything else, and comes once the link is back.
async function startTunnel(button) {
  if (silence && performance.now() < silence.end) return;
  const clicked = performance.now();
  silence = { start: clicked + linkRTT() / 2, end: clicked + linkRTT() / 2 + TUNNEL_MS };
  document.body.dataset.tunnelStart = Math.round(silence.start); // for the curious and the tests
  for (const p of [...panels, autoPanel]) p.tunnelStart(silence);
  say($('#fault-status'), 'tunnel.started', { name: link.name, s: TUNNEL_MS / 1000 });
  renderTunnelButton();
  try {
    await request(`api/tunnel?link=${encodeURIComponent(link.name)}&for=${TUNNEL_MS}ms`, {
      method: 'POST', timeout: TUNNEL_MS + 4 * linkRTT() + 10_000,
    });
  } catch (err) {
    if (!(err instanceof HTTPError)) return; // no answer in time: the panels tell the rest
    silence = null; // refused: there was no tunnel
    for (const p of [...panels, autoPanel]) p.tunnel = null;
    refuse($('#fault-status'), 'tunnel.failed', { error: failure(err) });
    renderTunnelButton();
  }
}

function renderTunnelButton() {
  const button = $('#tunnel');
  const left = silence ? Math.ceil((silence.end - performance.now()) / 1000) : 0;
  const on = left > 0;
  button.setAttribute('aria-pressed', String(on));
  const text = on ? t('tunnel.on', { s: left }) : t('tunnel.button', { s: TUNNEL_MS / 1000 });
  if (button.textContent !== text) button.textContent = text;
}

// renderTickerSeen says how many of the built-in ticker's messages this
// tab saw per second over the cost window (the server does not say its
// period): measured, whatever --ticker or the control set.
function renderTickerSeen() {
  const ws = byKey.ws;
  const now = performance.now();
  const seen = ws.tickerAt.filter(at => now - at <= COST_MS).length;
  const span = Math.min(COST_MS, now - ws.countingSince) / 1000;
  $('#ticker-seen').textContent = t('tickerSeen', { n: seen, rate: span > 0 ? (seen / span).toFixed(2) : '–', s: Math.round(span) });
}

// parseSeconds reads a number of seconds as a person types it, "3",
// "0.5", ".25", or returns null: an empty field is no number, not 0.
function parseSeconds(text) {
  const v = text.trim();
  return /^(\d+(\.\d*)?|\.\d+)$/.test(v) ? Number(v) : null;
}

// refuse says why a control's value was not taken, marked as an error.
function refuse(el, key, params) {
  say(el, key, params);
  el.classList.add('bad');
}

// applyControls hands the interval and timeout controls to the clients
// (once they exist). The short poll's interval is 0.5 to 60 s: anything
// else (0, empty, a word) is refused with a message, and the interval in
// use stays, shown again in its field. The long poll's timeout is whole
// seconds, from 1 to the server's maximum, and the control shows what was
// taken.
function applyControls() {
  if (!byKey.poll.client) return;
  const field = $('#poll-interval'), status = $('#poll-status');
  const s = parseSeconds(field.value);
  if (s === null || s < 0.5 || s > 60) {
    refuse(status, 'pollBad', { value: field.value.trim(), s: byKey.poll.client.interval / 1000 });
    field.value = byKey.poll.client.interval / 1000;
  } else {
    byKey.poll.client.interval = 1000 * s;
    status.classList.remove('bad');
    status.removeAttribute('data-say');
    status.textContent = '';
  }
  const timeout = $('#lp-timeout');
  const range = timeouts(config);
  const hold = Math.min(range.max, Math.max(1, Math.round(Number(timeout.value)) || range.default));
  timeout.value = hold;
  byKey.longpoll.client.timeout = hold;
}

function renderAll() {
  const now = pageNow();
  retranslate();
  if (inspected) for (const p of panels) if (p.field('wire').open) renderWire(p);
  autoPanel.renderLive();
  autoPanel.dirty = true;
  autoPanel.render(now);
  for (const p of panels) {
    p.el.querySelector('.cut')?.setAttribute('aria-label', t('cutLabel', { name: t(p.key) }));
    p.renderLive();
    if (p.cost) p.renderCost(statsSamples[0], statsSamples.at(-1));
    p.dirty = true;
    p.render(now);
  }
  renderClock();
  renderCompare();
  checkConnectionLimit();
  renderProtoNote();
  renderOffline();
  renderConfigNote();
  renderStartNote();
  renderVerdict();
  renderTickerSeen();
  renderNetwork();
}

function renderOffline() {
  $('#offline').textContent = network.offline
    ? t('offlineOn', { s: Math.ceil((network.offlineUntil - Date.now()) / 1000) })
    : t('offline', { s: OFFLINE_MS / 1000 });
  $('#offline-help').textContent = t('offlineHelp', { s: OFFLINE_MS / 1000 });
}

document.body.dataset.startedAt = Math.round(performance.now()); // for the curious and the tests
buildCompareTable();
showPanel('poll');
wireControls();
setFacts({ window: COST_MS / 1000 });
setLang($('#lang').value);
renderAll();

// Live rendering: four times a second is enough for countdowns and charts,
// and costs nothing when 50 messages a second arrive.
setInterval(() => {
  const now = pageNow();
  for (const p of [...panels, autoPanel]) p.render(now);
  renderCompare();
  checkConnectionLimit();
  renderClock();
  renderOffline();
  renderConfigNote();
  renderStartNote();
  renderTickerSeen();
  if (link) renderTunnelButton();
}, 250);
setInterval(() => { for (const p of [...panels, autoPanel]) p.dirty = true; }, 1000); // the charts scroll
// A chart drawn at another size would be stretched until then: draw again
// at once when the window, the scheme or presentation mode changes it.
const redraw = () => { const now = pageNow(); for (const p of [...panels, autoPanel]) { p.dirty = true; p.render(now); } };
window.addEventListener('resize', redraw);
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', redraw);
new MutationObserver(redraw).observe(document.documentElement, { attributes: true, attributeFilter: ['data-present'] });
setInterval(lendHeldConnections, 2_000);
document.addEventListener('visibilitychange', lendHeldConnections);

start();
pollStats();
watchWire();
request('bench-report.json').then(r => { bench = r; renderVerdict(); }, () => {});
request('links-bench.json').then(r => { linksBench = r; renderVerdict(); }, () => {});
$('#verdict-form').addEventListener('input', renderVerdict);
$('#verdict-form').addEventListener('submit', e => e.preventDefault());
setInterval(renderVerdict, 1_000); // the short poll's interval and the long poll's hold are the page's controls
for (const p of panels) p.field('wire').addEventListener('toggle', () => { if (p.field('wire').open && inspected) renderWire(p); });
