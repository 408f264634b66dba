package transports

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"fourway/feed"
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

// writePage answers a poll or a long poll with one page, within the write
// timeout: a client that does not read its answer is cut, and its buffer
// freed, instead of holding it forever.
func (s *Server) writePage(c echo.Context, t *counters, p feed.Page) error {
	t.messages.Add(int64(len(p.Messages)))
	if len(p.Messages) == 0 {
		t.empty.Add(1)
	}
	size := 64 + len(p.Epoch)
	for _, m := range p.Messages {
		size += len(m.JSON) + 1
	}
	_ = http.NewResponseController(c.Response().Writer).SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, appendPage(make([]byte, 0, size), p))
}
