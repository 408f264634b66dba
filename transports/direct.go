package transports

// The writers that exist to measure what a library costs (package
// direct), handed the streams and the held polls they write: SSE without
// r3labs/sse (--sse-writer direct), long polls without net/http's request
// cycle (--longpoll-writer direct).

import (
	"errors"
	"time"

	"github.com/labstack/echo/v4"

	"fourway/transports/direct"
	"fourway/transports/fanout"
)

// newDirectHost is what package direct's writers need of s.
func (s *Server) newDirectHost() *direct.Host {
	return &direct.Host{
		Stats: &s.stats, Dispatcher: s.subs, Live: &s.live, MaxClients: s.cfg.MaxClients,
		Handler: s.echo,
		Answer: func(p direct.Poll) direct.Answer {
			a := s.answer(position{epoch: p.Epoch, cursor: p.Cursor}, p.Limit)
			return direct.Answer{Body: a.body, Messages: a.messages, News: a.news}
		},
		WriteTimeout: s.cfg.WriteTimeout, ShutdownTimeout: s.cfg.ShutdownTimeout,
		Shutdown: s.shutdown, Streams: &s.streams, Log: s.log,
	}
}

// serveSSEDirect hands the stream of c, from pos, to the direct writer;
// lc, its live connection, gets its goodbye, and done runs at its end. It
// returns false, having done nothing, when that writer cannot take it:
// the library serves it then.
func (s *Server) serveSSEDirect(c echo.Context, pos position, lc *fanout.LiveConn, done func()) bool {
	e := &sseEvents{s: s, cursor: pos.cursor, epoch: pos.epoch, proto: c.Request().Proto}
	d := s.direct.TakeSSE(c.Response().Writer, c.Request(), e)
	if d == nil {
		return false
	}
	e.out = d
	e.startKeepalive()
	s.live.SayGoodbyeWith(lc, e.goodbye)
	d.Start(func() { e.ping.Stop(); done() })
	return true
}

// holdDirect holds the long poll of c, which asks from pos up to limit,
// with the direct writer, for hold at most. held is false when that
// writer cannot take it: net/http holds it then.
func (s *Server) holdDirect(c echo.Context, pos position, limit int, hold time.Duration) (held bool, err error) {
	p := direct.Poll{Epoch: pos.epoch, Cursor: pos.cursor, Limit: limit}
	held, err = s.direct.HoldLongPoll(c.Response().Writer, c.Request(), p, hold)
	if errors.Is(err, direct.ErrAtLimit) {
		return true, refuseAtLimit(c) // limit.go
	}
	return held, err
}
