// Server-Sent Events: GET /api/sse?since=N&epoch=E (or Last-Event-ID: E:N)
//
// How it works: one plain HTTP response that never ends. The server writes
// events into it as text, each a few "field: value" lines and a blank line:
//
//	event: hello
//	id: k3x9AbCd:41
//	retry: 2000
//	data: {"next":41,"epoch":"k3x9AbCd","retry_ms":2000,"keepalive_ms":15000}
//
//	id: k3x9AbCd:42
//	data: {"id":42,"time":1763773323456.789,"data":"hi"}
//
//	: ping
//
// The browser's EventSource parses them, remembers the last id, and when the
// stream breaks it reconnects by itself after the "retry:" delay, sending
// that id as Last-Event-ID. The server resumes after it: resume is built in.
//
// What one message costs: the headers once per connection, then per message
// the "id: " and "data: " lines, the blank line and the chunk framing of
// HTTP/1.1, some 20 to 30 bytes beside the message itself. A ": ping"
// comment every 15 s keeps proxies from closing an idle stream.
//
// What breaks it: buffering proxies (hence X-Accel-Buffering: no), proxy
// read timeouts (hence the pings), and HTTP/1.1's limit of six connections
// per host in a browser: each open tab holds one stream. It is one-way:
// clients publish with ordinary POSTs.
//
// When to pick it: server-to-client feeds (notifications, tickers, logs,
// progress) where plain HTTP and automatic resume matter more than a
// client-to-server channel.
//
// This file is the protocol: the request, then the events in order, hello,
// reset, missed, the messages and the pings. They are written by
// github.com/r3labs/sse/v2 through sse_stream.go, which tames the library
// (one stream per connection, paced, every write with a deadline).
package transports

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/r3labs/sse/v2"
)

const (
	sseRetry = 2 * time.Second // how long an EventSource waits before reconnecting
	sseBatch = 64              // messages read from the feed at a time
)

func (s *Server) handleSSE(c echo.Context) error {
	pos, err := s.startPosition(c, "Last-Event-ID")
	if err != nil {
		return fail(c, http.StatusBadRequest, err.Error())
	}
	if s.shuttingDown() {
		return fail(c, http.StatusServiceUnavailable, errShuttingDown.Error())
	}
	lc, ok := s.live.add("sse", hangUpConn(netConnOf(c.Request())), s.cfg.MaxClients)
	if !ok {
		return fail(c, http.StatusServiceUnavailable, "the server is at its connection limit; try again later")
	}
	defer s.live.remove(lc)
	s.stats.sse.clients.Add(1)
	defer s.stats.sse.clients.Add(-1)

	s.openStream(c, lc.hangUp, pos).serve() // returns when the stream is over
	return nil
}

// sendEvents hands the library what there is to send now: the hello
// first, then what the feed has after the cursor (a reset and a missed
// notice first when they apply), a ping when one is due, and, at shutdown
// once everything published is out, the end of the stream. Each event's id
// is the position after it, which the browser sends back as Last-Event-ID
// when it reconnects. It stops early when the library holds sseInFlight
// events not yet written: the writer's next flush calls it again.
func (st *sseStream) sendEvents() {
	s := st.s
	if st.ended {
		return
	}
	if !st.helloSent {
		st.helloSent = true
		if st.epoch == "" {
			st.epoch = s.feed.Epoch()
		}
		retry := strconv.FormatInt(sseRetry.Milliseconds(), 10)
		hello := `{"next":` + strconv.FormatUint(st.cursor, 10) + `,"epoch":"` + st.epoch + `","retry_ms":` + retry +
			`,"keepalive_ms":` + strconv.FormatInt(s.cfg.SSEKeepalive.Milliseconds(), 10) + `}`
		st.send(&sse.Event{Event: []byte("hello"), ID: eventID(st.epoch, st.cursor), Retry: []byte(retry), Data: []byte(hello)})
	}
	caughtUp := st.sendFeed()
	if st.pingDue.Swap(false) {
		st.send(&sse.Event{Comment: []byte("ping")})
		st.ping.Reset(s.cfg.SSEKeepalive)
	}
	if caughtUp && s.shuttingDown() && st.cursor >= s.feed.LastID() {
		st.ended = true
		st.end()
	}
}

// sendFeed sends what the feed has after the cursor, as far as the room
// in the library goes, and says whether it got to the end.
func (st *sseStream) sendFeed() (caughtUp bool) {
	s := st.s
	for room := st.room(); room > 0; room = st.room() {
		p := s.feed.Read(st.epoch, st.cursor, int(min(sseBatch, room)))
		st.epoch = p.Epoch
		from := p.Next - uint64(len(p.Messages)) // ids are consecutive (see Feed)
		if p.Reset {
			st.send(&sse.Event{Event: []byte("reset"), ID: eventID(st.epoch, from), Data: []byte(`{"reset":true,"epoch":"` + st.epoch + `"}`)})
		}
		if p.Missed > 0 {
			st.send(&sse.Event{Event: []byte("missed"), ID: eventID(st.epoch, from), Data: []byte(`{"missed":` + strconv.FormatUint(p.Missed, 10) + `}`)})
		}
		for _, m := range p.Messages {
			st.send(&sse.Event{ID: eventID(st.epoch, m.ID), Data: m.JSON})
		}
		s.stats.sse.messages.Add(int64(len(p.Messages)))
		st.cursor = p.Next
		if !p.More {
			return true
		}
	}
	return false
}
