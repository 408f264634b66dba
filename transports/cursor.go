package transports

import (
	"fmt"
	"strconv"

	"github.com/labstack/echo/v4"

	"fourway/feed"
)

// A cursor is the last id a client already has. Absent means "start now",
// 0 means "everything retained", N means "everything after N".

// parseCursor reads a cursor. ok is false when s is empty (no cursor).
// Anything but a plain decimal integer is an error: no sign, no fraction.
func parseCursor(name, s string) (cursor uint64, ok bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s must be a message id (a whole number, 0 or more), not %q", name, s)
	}
	return n, true, nil
}

// parseInt reads an optional whole-number query parameter within [lo, hi].
func parseInt(c echo.Context, name string, def, lo, hi int) (int, error) {
	s := c.QueryParam(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be a whole number from %d to %d, not %q", name, lo, hi, s)
	}
	return n, nil
}

// startCursor resolves the cursor of a request from ?since= (and, when
// given, the Last-Event-ID header, which wins): absent means the feed's
// last id, so the client gets only what is published after it arrived.
// Both are checked, so a malformed one is refused even when the other wins.
func (s *Server) startCursor(c echo.Context, header string) (uint64, error) {
	n, ok, err := parseCursor("since", c.QueryParam("since"))
	if err != nil {
		return 0, err
	}
	if header != "" {
		if v := c.Request().Header.Get(header); v != "" {
			n, _, err := parseCursor(header, v)
			return n, err
		}
	}
	if !ok {
		return s.feed.LastID(), nil
	}
	return n, nil
}

// appendPage encodes a page as the polls answer it:
// {"messages":[...],"next":44} plus "missed" and "reset" when they apply.
// The messages are copied as they are: the same bytes as on every transport.
func appendPage(b []byte, p feed.Page) []byte {
	b = append(b, `{"messages":[`...)
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
	return append(b, '}')
}

// writePage answers a poll or a long poll with one page.
func (s *Server) writePage(c echo.Context, t *counters, p feed.Page) error {
	t.messages.Add(int64(len(p.Messages)))
	if len(p.Messages) == 0 {
		t.empty.Add(1)
	}
	size := 32
	for _, m := range p.Messages {
		size += len(m.JSON) + 1
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	return c.Blob(200, echo.MIMEApplicationJSON, appendPage(make([]byte, 0, size), p))
}
