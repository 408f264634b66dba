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
// A node that lost its feed's broker (health.go) ends its streams with a
// goodbye the page can read, an event of its own before the end:
//
//	event: end
//	id: k3x9AbCd:44
//	data: {"reason":"this node cannot reach the feed: ...","reconnect":"now"}
//
// This file is the protocol: the request, then the events in order, hello,
// reset, missed, the messages, the pings and the end. They are written by
// github.com/r3labs/sse/v2 through sse_stream.go, which tames the library
// (one stream per connection, paced, every write with a deadline).
package transports

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/r3labs/sse/v2"

	"fourway/feed"
	"fourway/transports/direct"
	"fourway/transports/fanout"
	"fourway/transports/wiremeter"
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
	cut := fanout.NewRequestCut(c.Request())
	lc, ok := s.live.Add("sse", cut.HangUp, s.cfg.MaxClients)
	if !ok {
		return refuseAtLimit(c) // limit.go
	}
	s.stats.SSE.Joined()
	done := func() { s.live.Remove(lc); s.stats.SSE.Left() }
	if s.cfg.SSEWriter == direct.SSEDirect && s.serveSSEDirect(c, pos, lc, done) {
		return nil // package direct has the connection now (direct.go)
	}
	defer done()
	st := s.openStream(c, cut, pos) // sse_stream.go
	s.live.SayGoodbyeWith(lc, st.goodbye)
	st.serve() // returns when the stream is over
	if cut.WasCut() {
		panic(http.ErrAbortHandler) // under HTTP/2, resets the stream alone
	}
	return nil
}

// sseEvents is a stream's place in the feed and what it has sent, the
// same whichever writer writes its events: the library's (sse_stream.go)
// or the direct one (package direct).
type sseEvents struct {
	s   *Server
	out sseOut

	pingDue atomic.Bool // set by the keepalive timer
	ping    *time.Timer
	bye     atomic.Pointer[string] // the reason of a goodbye, once said (see goodbye)

	proto string // the request's protocol, "HTTP/1.1" or "HTTP/2.0", for the hello

	// Used by the one who sends only (the writer's wakes make it one).
	cursor    uint64
	epoch     string
	helloSent bool
	ended     bool // the end of the stream was handed over: nothing more
	// What the events handed over wrap, added to /api/stats once per
	// write (the writers add their chunks' framing).
	tally wiremeter.Tally
}

// send hands ev to the writer.
func (e *sseEvents) send(ev *sse.Event) {
	e.tally.SSEEvent(len(ev.ID), len(ev.Event), len(ev.Retry), len(ev.Data), len(ev.Comment))
	e.out.Send(ev)
}

// sseOut is where the events go: a writer.
type sseOut interface {
	// Room is how many events may be handed over now.
	Room() int64
	Send(ev *sse.Event)
	// Message sends m as an event of its own.
	Message(epoch string, m feed.Message)
	// End ends the stream after the events handed over.
	End()
	// Wake has the stream send what there is to send (sendEvents).
	Wake()
}

// SendEvents sends what there is to send now (sendEvents), and reports
// whether the stream ended: what a writer of package direct calls.
func (e *sseEvents) SendEvents() (ended bool) {
	e.sendEvents()
	return e.ended
}

// Tally gathers the framing and heartbeats of the events handed over; the
// writer adds its own and counts them once per write.
func (e *sseEvents) Tally() *wiremeter.Tally { return &e.tally }

// startKeepalive has a ": ping" comment sent every keepalive period.
func (e *sseEvents) startKeepalive() {
	e.ping = time.AfterFunc(e.s.cfg.SSEKeepalive, func() { e.pingDue.Store(true); e.out.Wake() })
}

// goodbye ends the stream with an end event that says why and that the
// client should reconnect now, elsewhere, with its cursor: what a node that
// lost its feed's broker tells its streams (health.go). The stream first
// sends what it has after the cursor. Safe from any goroutine, any number
// of times; never blocks.
func (e *sseEvents) goodbye(why string) {
	e.bye.CompareAndSwap(nil, &why)
	e.out.Wake()
}

// sendEvents hands the writer what there is to send now: the hello first,
// then what the feed has after the cursor (a reset and a missed notice
// first when they apply), a ping when one is due, and the end of the
// stream: after a goodbye, with an end event, once what the feed has is
// out; at shutdown, once everything published is out. Each event's id is
// the position after it, which the browser sends back as Last-Event-ID
// when it reconnects. It stops early when the writer has no room: the
// writer calls it again once it has.
func (e *sseEvents) sendEvents() {
	s := e.s
	if e.ended {
		return
	}
	if !e.helloSent {
		e.helloSent = true
		if e.epoch == "" {
			e.epoch = s.feed.Epoch()
		}
		retry := strconv.FormatInt(sseRetry.Milliseconds(), 10)
		hello := `{"next":` + strconv.FormatUint(e.cursor, 10) + `,"epoch":"` + e.epoch + `","retry_ms":` + retry +
			`,"keepalive_ms":` + strconv.FormatInt(s.cfg.SSEKeepalive.Milliseconds(), 10) + `,"proto":"` + e.proto + `"` + s.nodeField() + `}`
		e.send(&sse.Event{Event: []byte("hello"), ID: eventID(e.epoch, e.cursor), Retry: []byte(retry), Data: []byte(hello)})
	}
	caughtUp := e.sendFeed()
	if e.pingDue.Swap(false) {
		e.send(&sse.Event{Comment: []byte("ping")})
		e.ping.Reset(s.cfg.SSEKeepalive)
	}
	if !caughtUp {
		return
	}
	if why := e.bye.Load(); why != nil {
		e.ended = true
		data := `{"reason":` + string(jsonString(*why)) + `,"reconnect":"now"}`
		e.send(&sse.Event{Event: []byte("end"), ID: eventID(e.epoch, e.cursor), Data: []byte(data)})
		e.out.End()
	} else if s.shuttingDown() && e.cursor >= s.feed.LastID() {
		e.ended = true
		e.out.End()
	}
}

// sendFeed sends what the feed has after the cursor, as far as the room
// of the writer goes, and says whether it got to the end.
func (e *sseEvents) sendFeed() (caughtUp bool) {
	s := e.s
	for room := e.out.Room(); room > 0; room = e.out.Room() {
		p := s.feed.Read(e.epoch, e.cursor, int(min(sseBatch, room)))
		e.epoch = p.Epoch
		from := p.Next - uint64(len(p.Messages)) // ids are consecutive (see Feed)
		if p.Reset {
			e.send(&sse.Event{Event: []byte("reset"), ID: eventID(e.epoch, from), Data: []byte(`{"reset":true,"epoch":"` + e.epoch + `"}`)})
		}
		if p.Missed > 0 {
			e.send(&sse.Event{Event: []byte("missed"), ID: eventID(e.epoch, from), Data: []byte(`{"missed":` + strconv.FormatUint(p.Missed, 10) + `}`)})
		}
		for i, m := range p.Messages {
			if i > 0 && e.out.Room() <= 0 { // the rest next time: a write stays short
				s.stats.SSE.Delivered(i)
				e.cursor = p.Messages[i-1].ID
				return false
			}
			e.out.Message(e.epoch, m)
			e.tally.SSEMessage(e.epoch, m.ID)
		}
		s.stats.SSE.Delivered(len(p.Messages))
		e.cursor = p.Next
		if !p.More {
			return true
		}
	}
	return false
}
