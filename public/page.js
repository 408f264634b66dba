// page.js: the poll answer, beside transports/page.go. Short and long
// polling answer with the same page,
//
//   {"epoch":"k3x9AbCd","messages":[...],"next":44}
//
// plus "missed":K, "reset":true and "more":true when they apply, so
// poll.js and longpoll.js hand it over to the page the same way.
//
// A cursor means nothing without its epoch, the name of the id sequence it
// counts in: a restarted server starts its ids over at 1, and its id 10 is
// not ours. So the client keeps the answer's "epoch" with the cursor, and
// sends both back. "reset": the server did not know our epoch (it
// restarted), and read for us as from cursor 0 of its own: the messages
// that follow are its 1, 2, 3..., not a continuation of ours. "missed": the
// cursor was older than the server keeps; it says how many are gone and
// continues from the oldest it has. "more" is for the client's loop: the
// answer was cut short and the rest is waiting.

// framing is the bytes of an answer's JSON around its messages,
// {"epoch":"…","messages":[…,…],"next":44}: what a poll pays beyond the
// messages and the HTTP headers. The answer is compact JSON, keys in the
// server's order, so encoding it again gives the bytes that came.
const utf8 = new TextEncoder();
const size = v => utf8.encode(JSON.stringify(v)).length;
export function framing(page) {
  return size(page) - page.messages.reduce((n, m) => n + size(m), 0);
}

// deliverPage hands one answer to the page through client's callbacks: an
// "answer" notice with its framing, the reset and missed notices, an "empty" notice for an answer with no
// message, then each message with the cursor kept at its id, and last the
// "next" cursor.
export function deliverPage(client, page) {
  client.onnotice({ type: 'answer', framing: framing(page) });
  client.epoch = page.epoch; // always present: the epoch of "next" and of every id below
  if (page.reset) { client.cursor = 0; client.onnotice({ type: 'reset', epoch: page.epoch }); }
  if (page.missed) client.onnotice({ type: 'missed', missed: page.missed });
  if (page.messages.length === 0) client.onnotice({ type: 'empty' });
  for (const m of page.messages) {
    client.cursor = m.id;
    client.onmessage(m);
  }
  client.cursor = page.next;
}
