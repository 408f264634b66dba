package transports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"fourway/feed"
)

// Publishing: POST /api/messages. A JSON body becomes the message's data as
// it is (compacted); any other body must be UTF-8 text and becomes a JSON
// string, so `curl -d hello` works. WebSocket clients publish through the
// same publish method.

var (
	errEmpty        = errors.New("the message is empty")
	errTooLarge     = errors.New("the message is too large")
	errShuttingDown = errors.New("the server is shutting down")
)

// Bounds on the data itself, past what json.Compact checks: a value nested
// deeper than Go's encoding/json reads inside a poll page (its limit is
// 10,000 levels) would make every Go poller stuck on that page, and a
// number no float64 holds (1e999) is not a number any JSON reader agrees on.
const maxDepth = 64 // arrays and objects inside one another

// publish validates data (a JSON value) and appends it to the feed.
func (s *Server) publish(data []byte) (feed.Message, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return feed.Message{}, fmt.Errorf("the data is not valid JSON (%v); send text as text/plain to publish it as a string", err)
	}
	if buf.Len() == 0 {
		return feed.Message{}, errEmpty
	}
	if !utf8.Valid(buf.Bytes()) { // JSON strings must be UTF-8; encoding/json does not check
		return feed.Message{}, errors.New("the data is not valid UTF-8")
	}
	if buf.Len() > s.cfg.MaxMessage {
		return feed.Message{}, fmt.Errorf("%w: %d bytes of data, the limit is %d", errTooLarge, buf.Len(), s.cfg.MaxMessage)
	}
	if err := checkValue(buf.Bytes()); err != nil {
		return feed.Message{}, err
	}
	m, err := s.feed.Publish(buf.Bytes())
	if errors.Is(err, feed.ErrClosed) {
		return m, errShuttingDown
	}
	return m, err
}

// checkValue refuses valid JSON that readers would choke on: nesting
// deeper than maxDepth, and numbers out of a float64's range.
func checkValue(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("the data is not valid JSON (%v)", err)
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '[' || v == '{' {
				if depth++; depth > maxDepth {
					return fmt.Errorf("the data is nested more than %d levels deep", maxDepth)
				}
			} else {
				depth--
			}
		case json.Number:
			if _, err := strconv.ParseFloat(string(v), 64); err != nil {
				return fmt.Errorf("the number %.40s does not fit a 64-bit float, as JSON readers hold numbers", v)
			}
		}
	}
}

// publishBody turns an HTTP body into the message's data.
func publishBody(contentType string, body []byte) ([]byte, error) {
	if len(body) == 0 {
		return nil, errEmpty
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		return body, nil // publish validates and compacts it
	}
	if !utf8.Valid(body) {
		return nil, errors.New("the body is not valid UTF-8 text")
	}
	return jsonString(string(body)), nil
}

// jsonString encodes s as a JSON string, leaving <, > and & as they are:
// the message is data, not HTML, and escaping them would make 20 KB of
// text cost 120 KB against --max-message.
func jsonString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func (s *Server) handlePublish(c echo.Context) error {
	r := c.Request()
	token, _ := bearer(r)
	if no := s.mayPublish(c.RealIP(), token); no != nil {
		return refuse(c, no)
	}
	// Read one byte past what any acceptable body can be, to tell "too
	// large" from "exactly the limit". JSON may carry whitespace that
	// compacting removes, so allow it some room. The guard middleware
	// bounds the time the body may take.
	limit := int64(s.cfg.MaxMessage)*2 + 1024
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		c.Response().Header().Set("Connection", "close")
		if bodyTimedOut(err) {
			return fail(c, http.StatusRequestTimeout, fmt.Sprintf("the body did not arrive within %v (--read-timeout)", s.cfg.ReadTimeout))
		}
		return fail(c, http.StatusBadRequest, "reading the body failed: "+err.Error())
	}
	if int64(len(body)) > limit {
		c.Response().Header().Set("Connection", "close") // the rest is not read
		return fail(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("the message is too large: the limit is %d bytes of data", s.cfg.MaxMessage))
	}
	data, err := publishBody(r.Header.Get("Content-Type"), body)
	if err != nil {
		return fail(c, http.StatusBadRequest, err.Error())
	}
	m, err := s.publish(data)
	switch {
	case errors.Is(err, errTooLarge):
		return fail(c, http.StatusRequestEntityTooLarge, err.Error())
	case errors.Is(err, errShuttingDown), errors.Is(err, feed.ErrUnavailable):
		return fail(c, http.StatusServiceUnavailable, err.Error())
	case err != nil:
		return fail(c, http.StatusBadRequest, err.Error())
	}
	b := append([]byte(`{"id":`), strconv.FormatUint(m.ID, 10)...)
	b = append(b, `,"time":`...)
	b = append(strconv.AppendFloat(b, m.Time, 'f', 3, 64), '}')
	return c.Blob(http.StatusCreated, echo.MIMEApplicationJSON, b)
}
