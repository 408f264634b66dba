package transports

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"fourway/feed"
	"fourway/transports/wiremeter"
)

// The poll answer, shared by short and long polling:
//
//	{"epoch":"k3x9AbCd","messages":[...],"next":44}
//
// plus "missed":K, "reset":true and "more":true when they apply.

const (
	defaultLimit = 100     // messages per answer when the client names no limit
	maxLimit     = 1000    // largest limit a client may ask for
	maxPageBytes = 1 << 20 // message bytes per answer; the rest comes with the next request
)

// pollParams reads the position and limit that both polls take.
func (s *Server) pollParams(c echo.Context) (pos position, limit int, err error) {
	if limit, err = parseInt(c, "limit", defaultLimit, 1, maxLimit); err != nil {
		return position{}, 0, err
	}
	if pos, err = s.startPosition(c, ""); err != nil {
		return position{}, 0, err
	}
	return pos, limit, nil
}

// readPage reads one answer's worth: at most limit messages and, past the
// first, at most maxPageBytes of them, so one answer to a client that does
// not read it holds a bounded buffer.
func (s *Server) readPage(pos position, limit int) feed.Page {
	p := s.feed.Read(pos.epoch, pos.cursor, limit)
	size := 0
	for i, m := range p.Messages {
		if size += len(m.JSON) + 1; i > 0 && size > maxPageBytes {
			p.Messages = p.Messages[:i]
			p.Next = p.Messages[i-1].ID
			p.More = true
			break
		}
	}
	return p
}

// appendPage encodes a page as the polls answer it. The messages are
// copied as they are: the same bytes as on every transport.
func appendPage(b []byte, p feed.Page) []byte {
	b = append(b, `{"epoch":"`...)
	b = append(b, p.Epoch...) // letters, digits, - and _: nothing to escape
	b = append(b, `","messages":[`...)
	for i, m := range p.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, m.JSON...)
	}
	b = append(b, `],"next":`...)
	b = strconv.AppendUint(b, p.Next, 10)
	if p.Missed > 0 {
		b = append(b, `,"missed":`...)
		b = strconv.AppendUint(b, p.Missed, 10)
	}
	if p.Reset {
		b = append(b, `,"reset":true`...)
	}
	if p.More {
		b = append(b, `,"more":true`...)
	}
	return append(b, '}')
}

// answer returns the answer for pos and limit. Answers are shared: the
// waiters that one publish wakes mostly ask from the same cursor, and each
// of them gets the one encoding made for the first (centrifuge keeps one
// per channel in the same way), those that ask while it is being made
// too. An answer is reused only while the feed's last id and epoch are
// those it was read at.
func (s *Server) answer(pos position, limit int) pollAnswer {
	key := answerKey{pos.epoch, pos.cursor, limit, s.feed.LastID(), s.feed.Epoch()}
	a, ok, making := s.answers.get(key)
	if ok {
		return a
	}
	p := s.readPage(pos, limit)
	size := 64 + len(p.Epoch)
	for _, m := range p.Messages {
		size += len(m.JSON) + 1
	}
	a = pollAnswer{body: appendPage(make([]byte, 0, size), p), messages: len(p.Messages),
		news: len(p.Messages) > 0 || p.Missed > 0 || p.Reset}
	if s.cfg.Compress {
		a.gzip = &gzipAnswer{}
	}
	// Kept only if nothing was published while it was read: then it is
	// the answer at key.last. (The polls that waited for it take it
	// anyway: it is an answer for their cursor, only a newer one.)
	s.answers.made(key, making, a, s.feed.LastID() == key.last)
	return a
}

// writeAnswer answers a poll or a long poll, within the write timeout: a
// client that does not read its answer is cut, and its buffer freed,
// instead of holding it forever. Its headers are set with values made
// once (net/http only reads them), so setting them allocates nothing.
// With --compress, a client that offers gzip gets the answer's gzip body
// (compress.go), made once for all who share the answer, unless it is no
// smaller.
func (s *Server) writeAnswer(c echo.Context, t *wiremeter.Counters, a pollAnswer) error {
	t.Answered(a.messages)
	res := c.Response()
	_ = http.NewResponseController(res.Writer).SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	h := res.Header()
	h["Cache-Control"] = noStore
	h["Content-Type"] = jsonType
	body := a.body
	if a.gzip != nil {
		h["Vary"] = acceptEncoding
		if acceptsGzip(c.Request()) {
			if gz := a.gzip.get(a.body); gz != nil {
				h["Content-Encoding"] = gzipCoding
				body = gz
			}
		}
	}
	res.WriteHeader(http.StatusOK)
	if sw, ok := res.Writer.(sharedWriter); ok {
		sw.WriteShared(body)
		return nil
	}
	_, err := res.Write(body)
	return err
}

// sharedWriter is a ResponseWriter that keeps a body it is given as it is
// (never modified, as an answer is) until it is written, rather than a
// copy: the direct long poll's (package direct), which writes the
// answer once the handler has returned. net/http's keeps no copy either:
// it writes a large body straight to the socket.
type sharedWriter interface{ WriteShared(body []byte) }

var (
	noStore  = []string{"no-store"}
	jsonType = []string{echo.MIMEApplicationJSON}
)
