// inspect.js: the wire inspector's view, beside transports/inspect.go.
//
// GET /api/inspect answers with each transport's last exchanges as they
// crossed the server's socket (it records only while someone asks, so the
// page asks only while a panel's "bytes on the wire" is open). This file
// renders one exchange as text: the request and response heads with their
// line ends shown (\r\n), a poll's body, an SSE stream's chunks with their
// size lines, a WebSocket's frames with FIN, opcode, mask bit, length and
// the header bytes in hex, and every byte of it split by kind. Compressed
// bytes (--compress) are in hex, each beside the size the server says they
// decode to (decoded), where it knows. Everything is set with textContent:
// the bytes are whatever a client sent.

import { num } from './i18n.js';

// visible writes the line ends of raw text as the escapes they are.
export const visible = s => s.replaceAll('\r', '\\r').replaceAll('\n', '\\n\n');

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

// renderExchange fills box with exchange x, in the words of t.
export function renderExchange(box, x, t) {
  box.replaceChildren();
  box.dataset.exchange = x.id;
  const block = (title, text, bytes, cls, decoded) => {
    const h = el('h4', null, decoded
      ? t('wire.blockDecoded', { what: t(title), n: num(bytes), enc: x.encoding, d: num(decoded) })
      : t('wire.block', { what: t(title), n: num(bytes) }));
    const pre = el('pre', `wire-${cls}`, visible(text));
    pre.dataset.bytes = bytes;
    if (decoded) pre.dataset.decoded = decoded;
    box.append(h, pre);
  };
  block('wire.request', x.request.text, x.request.bytes, 'request');
  if (x.sealed) { // over TLS the socket's bytes are records, encrypted: nothing more to show
    box.dataset.sealed = x.sealed;
    box.append(el('p', 'wire-sealed', t('wire.sealed', { proto: x.sealed })));
    return;
  }
  if (x.response.bytes) block('wire.response', x.response.text, x.response.bytes, 'response');
  if (x.body) block('wire.body', x.body.text, x.body.bytes, 'body', x.body.decoded);
  if (x.chunks?.length) {
    box.append(el('h4', null, x.encoding ? t('wire.chunksZip', { n: x.chunks.length, enc: x.encoding }) : t('wire.chunks', { n: x.chunks.length })));
    const list = el('ol', 'wire-chunks');
    for (const c of x.chunks) {
      const li = el('li', c.ping ? 'ping' : null);
      li.dataset.bytes = c.bytes;
      li.append(el('span', 'frame', visible(c.size_line).trimEnd()));
      if (c.decoded) { // on the size line's line: the size of what follows
        li.dataset.decoded = c.decoded;
        li.append(el('span', 'decoded', t('wire.decodesTo', { d: num(c.decoded) })));
      }
      li.append(el('pre', null, visible(c.data)), el('span', 'frame', '\\r\\n'));
      list.append(li);
    }
    box.append(list);
  }
  if (x.frames) {
    for (const dir of ['out', 'in']) {
      const frames = x.frames[dir] ?? [];
      box.append(el('h4', null, t(`wire.frames.${dir}`, { n: frames.length })));
      if (!frames.length) continue;
      const table = el('table', `wire-frames wire-frames-${dir}`);
      const head = el('tr');
      const zipped = frames.some(f => f.compressed); // a column for the size they decode to
      const cols = ['FIN', 'opcode', 'MASK', t('wire.length'), t('wire.header'), t('wire.payload')];
      if (zipped) cols.splice(4, 0, t('wire.decoded'));
      for (const c of cols) head.append(el('th', null, c));
      table.append(el('thead'), el('tbody'));
      table.tHead.append(head);
      for (const f of frames) {
        const tr = el('tr');
        tr.dataset.header = f.header;
        const cells = [f.fin ? 1 : 0, `${f.opcode} ${f.op}${f.compressed ? ' RSV1' : ''}`, f.masked ? 1 : 0, f.length, f.header.match(/../g).join(' '), f.payload];
        if (zipped) cells.splice(4, 0, f.decoded ? num(f.decoded) : f.compressed ? '?' : '');
        if (f.decoded) tr.dataset.decoded = f.decoded;
        for (const c of cells) tr.append(el('td', null, String(c)));
        table.tBodies[0].append(tr);
      }
      const scroll = el('div', 'table-scroll');
      scroll.append(table);
      box.append(scroll);
    }
  }
  const parts = el('dl', 'wire-parts');
  let total = 0;
  for (const [k, v] of Object.entries(x.parts)) {
    total += v;
    const div = el('div');
    div.append(el('dt', null, t(`wire.part.${k}`)), el('dd', `part-${k}`, t('wire.bytes', { n: num(v) })));
    parts.append(div);
  }
  const div = el('div', 'total');
  div.append(el('dt', null, t('wire.part.total')), el('dd', 'part-total', t('wire.bytes', { n: num(total) })));
  parts.append(div);
  box.dataset.total = total;
  box.append(el('h4', null, t('wire.parts')), parts);
}
