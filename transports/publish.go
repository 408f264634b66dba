package transports

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"fourway/feed"
)

// Publishing: POST /api/messages. A JSON body becomes the message's data as
// it is (compacted); any other body must be UTF-8 text and becomes a JSON
// string, so `curl -d hello` works. WebSocket clients publish through the
// same publish method.

var (
	errEmpty    = errors.New("the message is empty")
	errTooLarge = errors.New("the message is too large")
	errClosing  = errors.New("the server is shutting down")
)

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
	m, err := s.feed.Publish(buf.Bytes())
	if errors.Is(err, feed.ErrClosed) {
		return m, errClosing
	}
	return m, err
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
	return json.Marshal(string(body))
}

func (s *Server) handlePublish(c echo.Context) error {
	// Read one byte past what any acceptable body can be, to tell "too
	// large" from "exactly the limit". JSON may carry whitespace that
	// compacting removes, so allow it some room.
	limit := int64(s.cfg.MaxMessage)*2 + 1024
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, limit+1))
	if err != nil {
		return fail(c, http.StatusBadRequest, "reading the body failed: "+err.Error())
	}
	if int64(len(body)) > limit {
		return fail(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("the message is too large: the limit is %d bytes of data", s.cfg.MaxMessage))
	}
	data, err := publishBody(c.Request().Header.Get("Content-Type"), body)
	if err != nil {
		return fail(c, http.StatusBadRequest, err.Error())
	}
	m, err := s.publish(data)
	switch {
	case errors.Is(err, errTooLarge):
		return fail(c, http.StatusRequestEntityTooLarge, err.Error())
	case errors.Is(err, errClosing):
		return fail(c, http.StatusServiceUnavailable, err.Error())
	case err != nil:
		return fail(c, http.StatusBadRequest, err.Error())
	}
	b := append([]byte(`{"id":`), strconv.FormatUint(m.ID, 10)...)
	b = append(b, `,"time":`...)
	b = append(strconv.AppendFloat(b, m.Time, 'f', 3, 64), '}')
	return c.Blob(http.StatusCreated, echo.MIMEApplicationJSON, b)
}

// publishLimits returns the publish route's middleware: the token check and
// the per-client rate limit, each only when configured.
func (s *Server) publishLimits() []echo.MiddlewareFunc {
	var mw []echo.MiddlewareFunc
	if s.cfg.PublishToken != "" {
		mw = append(mw, requireBearer(s.cfg.PublishToken, "publishing"))
	}
	if s.cfg.PublishRate > 0 {
		r := s.cfg.PublishRate
		retry := strconv.Itoa(int(math.Ceil(1 / r)))
		mw = append(mw, middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
			Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
				Rate: rate.Limit(r), Burst: max(1, int(math.Ceil(r))), ExpiresIn: time.Minute,
			}),
			DenyHandler: func(c echo.Context, _ string, _ error) error {
				c.Response().Header().Set("Retry-After", retry)
				return fail(c, http.StatusTooManyRequests, fmt.Sprintf("too many messages: at most %g per second per client", r))
			},
			ErrorHandler: func(c echo.Context, err error) error {
				return fail(c, http.StatusForbidden, "cannot identify the client: "+err.Error())
			},
		}))
	}
	return mw
}

// requireBearer refuses requests without "Authorization: Bearer <token>".
func requireBearer(token, what string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="fourway"`)
				return fail(c, http.StatusUnauthorized, what+" needs Authorization: Bearer <token>, and the token given is missing or wrong")
			}
			return next(c)
		}
	}
}
