package transports

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// The guards every request passes: the Host it names, the Origin of the
// page that sent it, the publish token and rate, and bounds on the time to
// read a body and to write an answer. CONTRACT.md, "Security", says what
// each one protects and what it does not.

// pageHeaders are sent with the page's files: no sniffing a file into
// another type, no framing the page (its Cut and publish buttons cannot be
// clickjacked), and nothing loaded or run that is not the server's own.
// The values are shared by every response (net/http only reads them), so
// setting them allocates nothing.
var pageHeaders = map[string][]string{
	"X-Content-Type-Options":  {"nosniff"},
	"X-Frame-Options":         {"DENY"},
	"Referrer-Policy":         {"no-referrer"},
	"Content-Security-Policy": {"default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
}

// apiHeaders are sent with every answer of the API instead, as OWASP's
// REST security cheat sheet has them: no sniffing JSON into HTML, and a
// JSON answer opened as a page may load nothing and be framed by no one.
// Every poll pays its headers once per message, so they say only that.
var apiHeaders = map[string][]string{
	"X-Content-Type-Options":  {"nosniff"},
	"Content-Security-Policy": {"default-src 'none'; frame-ancestors 'none'"},
}

// guard is the first middleware: it refuses a request that names a host
// this server does not answer for (DNS rebinding), sets the page headers,
// and bounds reading the request's body. It also gives every response a
// write deadline: the streaming handlers set their own, per write.
func (s *Server) guard(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r, h := c.Request(), c.Response().Header()
		headers := pageHeaders
		if strings.HasPrefix(r.URL.Path, "/api/") {
			headers = apiHeaders
		}
		for k, v := range headers {
			h[k] = v
		}
		if s.nodeHeader != nil {
			h["Fourway-Node"] = s.nodeHeader // which of several nodes answered
		}
		if !s.hostAllowed(r.Host) {
			h.Set("Connection", "close")
			return fail(c, http.StatusMisdirectedRequest, fmt.Sprintf("this server does not answer for the host %q: use its address, localhost, or a name given with --allowed-hosts", r.Host))
		}
		if r.TransferEncoding != nil {
			// net/http removes a Content-Length that Transfer-Encoding
			// overrode, so a request that had both (a request-smuggling
			// attempt) cannot be told apart: close after every chunked one.
			h.Set("Connection", "close")
		}
		rc := http.NewResponseController(c.Response().Writer)
		streaming := isStream(r.URL.Path)
		if r.ContentLength != 0 {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				h.Set("Connection", "close") // and net/http must not read the body first
				return fail(c, http.StatusBadRequest, "a GET carries no body here")
			}
			_ = rc.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
		}
		if streaming {
			_ = rc.SetWriteDeadline(time.Time{}) // no deadline left over from an earlier request
		} else {
			_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		}
		return next(c)
	}
}

// isStream reports whether path is one of the streams, which bound each
// of their writes themselves. (A held long poll writes nothing while it
// waits, so the deadline set here does not cut it; its answer gets a
// fresh one.)
func isStream(path string) bool { return path == "/api/sse" || path == "/api/ws" }

// hostAllowed reports whether a request's Host header names this server:
// an IP address (a page cannot rebind an address, only a name), localhost,
// or a name given with --allowed-hosts. A rebinding page's requests carry
// its own name, rebind.evil.example, and get 421.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ".")
	if host == "" || net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") {
		return true // no Host at all is HTTP/1.0: it names nothing to rebind
	}
	for _, a := range s.cfg.AllowedHosts {
		if strings.EqualFold(a, host) {
			return true
		}
	}
	return false
}

// originAllowed reports whether the page that sent r may act here: a
// request without Origin (curl, a server, not a browser) passes; a
// browser's Origin must be this server itself, scheme, host and port, one
// of its --links, or one listed in --allowed-origins. It guards the
// WebSocket upgrade and every POST, since a foreign page can send a
// simple POST (text/plain, no preflight) and read nothing back, but
// still change state.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	if strings.EqualFold(origin, scheme+r.Host) {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	for _, l := range s.cfg.Links { // a page loaded through a link the server opened is its own
		if strings.EqualFold(strings.TrimSuffix(l.URL, "/"), origin) {
			return true
		}
	}
	return false
}

// sameOrigin refuses a state-changing request from a foreign page.
func (s *Server) sameOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.originAllowed(c.Request()) {
			c.Response().Header().Set("Connection", "close")
			return fail(c, http.StatusForbidden, "origin "+strconv.Quote(c.Request().Header.Get("Origin"))+" may not act here (see --allowed-origins)")
		}
		return next(c)
	}
}

// bearer returns the token of an "Authorization: Bearer <token>" header;
// the scheme is case-insensitive (RFC 9110). given is false when the
// request has no Authorization header at all.
func bearer(r *http.Request) (token string, given bool) {
	v := r.Header.Get("Authorization")
	if v == "" {
		return "", false
	}
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimLeft(rest, " "), true
}

// tokenMatches reports whether got is the token want, in a time that
// tells nothing of either: it compares their SHA-256 digests, which are
// of one length whatever the tokens' (subtle.ConstantTimeCompare returns
// at once when two lengths differ, which would tell a guesser the token's
// length).
func tokenMatches(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// requireBearer refuses requests without "Authorization: Bearer <token>",
// without reading their body, and closes the connection after.
func requireBearer(token, what string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if got, _ := bearer(c.Request()); !tokenMatches(got, token) {
				return refuse(c, &refusal{status: http.StatusUnauthorized,
					msg: what + " needs Authorization: Bearer <token>, and the token given is missing or wrong"})
			}
			return next(c)
		}
	}
}

// refusal is why a request may not go on, as the HTTP answer gives it.
type refusal struct {
	status     int
	msg        string
	retryAfter time.Duration // for 429
}

func (r *refusal) Error() string { return r.msg }

var errNoPublishToken = &refusal{status: http.StatusUnauthorized,
	msg: "publishing needs the publish token (Authorization: Bearer <token>, or ?token= on the WebSocket URL), and the token given is missing or wrong"}

// mayPublish decides whether the client at addr, holding token, may
// publish now: it must hold the publish token when one is set, and its
// address must be within --publish-rate. POST /api/messages and a
// WebSocket's publish frame both ask it, so neither path skips a control.
func (s *Server) mayPublish(addr, token string) *refusal {
	if s.cfg.PublishToken != "" && !tokenMatches(token, s.cfg.PublishToken) {
		return errNoPublishToken
	}
	if s.publishRate == nil {
		return nil
	}
	if wait := s.publishRate.take(addr, time.Now()); wait > 0 {
		return &refusal{status: http.StatusTooManyRequests, retryAfter: wait,
			msg: fmt.Sprintf("too many messages: at most %g per second per client; retry in %d ms", s.cfg.PublishRate, wait.Milliseconds())}
	}
	return nil
}

// refuse answers a refusal without reading the request's body, and closes
// the connection after: a client refused before it sent its body must not
// hold the server while it sends it, slowly or never.
func refuse(c echo.Context, r *refusal) error {
	h := c.Response().Header()
	h.Set("Connection", "close")
	switch r.status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="fourway"`)
	case http.StatusTooManyRequests:
		h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(r.retryAfter.Seconds())), 10))
	}
	return fail(c, r.status, r.msg)
}

// bodyTimedOut reports whether reading a body failed on its read deadline.
func bodyTimedOut(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// rateLimiter is a token bucket per client address.
type rateLimiter struct {
	rate  rate.Limit
	burst int

	mu     sync.Mutex
	byAddr map[string]*addrLimit
	swept  time.Time
}

type addrLimit struct {
	lim  *rate.Limiter
	seen time.Time
}

func newRateLimiter(perSecond float64) *rateLimiter {
	return &rateLimiter{rate: rate.Limit(perSecond), burst: max(1, int(math.Ceil(perSecond))), byAddr: map[string]*addrLimit{}}
}

// take spends one publish of addr's allowance, or says how long until one
// is available (and spends nothing).
func (l *rateLimiter) take(addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute { // forget addresses that went quiet
		for a, e := range l.byAddr {
			if now.Sub(e.seen) > time.Minute {
				delete(l.byAddr, a)
			}
		}
		l.swept = now
	}
	e := l.byAddr[addr]
	if e == nil {
		e = &addrLimit{lim: rate.NewLimiter(l.rate, l.burst)}
		l.byAddr[addr] = e
	}
	e.seen = now
	if e.lim.AllowN(now, 1) {
		return 0
	}
	need := (1 - e.lim.TokensAt(now)) / float64(l.rate)
	return max(time.Millisecond, time.Duration(need*float64(time.Second)))
}
