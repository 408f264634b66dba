package transports

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"fourway/feed"
	"fourway/transports/direct"
	"fourway/transports/wiremeter"
)

// countRequests counts each request for its transport (wiremeter.Stats.Count).
func (s *Server) countRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		s.stats.Count(c.Request())
		return next(c)
	}
}

// Snapshot is the body of GET /api/stats.
type Snapshot struct {
	Node       string                              `json:"node,omitempty"` // Config.Node
	Feed       feed.Stats                          `json:"feed"`
	Transports map[string]wiremeter.TransportStats `json:"transports"`
	// HTTP2 holds what HTTP/2 connections carried beside their streams
	// (which are in Transports): present only when some were served.
	HTTP2 *wiremeter.HTTP2Bytes `json:"http2,omitempty"`
}

// Stats returns the server's figures now.
func (s *Server) Stats() Snapshot {
	return Snapshot{
		Node:       s.cfg.Node,
		Feed:       s.feed.Stats(),
		Transports: s.stats.Transports(),
		HTTP2:      s.stats.HTTP2(),
	}
}

func (s *Server) handleStats(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, s.Stats())
}

// metricsHandler exposes the same figures for Prometheus, with the Go
// runtime's and the process's own.
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(statsCollector{s})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

type statsCollector struct{ s *Server }

var (
	metricClients  = prometheus.NewDesc("fourway_clients", "Clients connected (streams) or waiting (long polls) now.", []string{"transport"}, nil)
	metricRequests = prometheus.NewDesc("fourway_requests_total", "HTTP requests, upgrades included.", []string{"transport"}, nil)
	metricMessages = prometheus.NewDesc("fourway_messages_delivered_total", "Messages delivered to subscribers.", []string{"transport"}, nil)
	metricEmpty    = prometheus.NewDesc("fourway_empty_responses_total", "Responses that carried no message.", []string{"transport"}, nil)
	metricDropped  = prometheus.NewDesc("fourway_dropped_total", "Subscribers dropped because their socket stopped taking bytes (too slow).", []string{"transport"}, nil)
	metricBytes    = prometheus.NewDesc("fourway_bytes_total", "Bytes on client sockets, headers and framing included.", []string{"transport", "direction"}, nil)
	metricParts    = prometheus.NewDesc("fourway_part_bytes_total", "Of the bytes on client sockets, those counted by kind: heads (HTTP/1.1 in the clear), framing and heartbeats (see GET /api/stats).", []string{"transport", "part", "direction"}, nil)
	metricHTTP2    = prometheus.NewDesc("fourway_http2_bytes_total", "Bytes of HTTP/2 connections: on their sockets, in frames of no stream (the connections' own), and added by TLS.", []string{"part", "direction"}, nil)
	metricLastID   = prometheus.NewDesc("fourway_feed_last_id", "Id of the newest message.", nil, nil)
	metricOldestID = prometheus.NewDesc("fourway_feed_oldest_id", "Id of the oldest retained message.", nil, nil)
	metricPublish  = prometheus.NewDesc("fourway_feed_published_total", "Messages published since start.", nil, nil)
	metricNode     = prometheus.NewDesc("fourway_node_info", "Always 1; names this node among several serving one feed.", []string{"node"}, nil)
	metricLag      = prometheus.NewDesc("fourway_feed_lag", "Messages the JetStream stream has that this node has not received yet.", nil, nil)
	metricJSUp     = prometheus.NewDesc("fourway_jetstream_up", "1 while this node is connected to NATS and its last stream check succeeded.", nil, nil)
	metricLPDirect = prometheus.NewDesc("fourway_longpoll_direct_total", "With --longpoll-writer direct: long polls it held (held), connections it took from net/http (taken) and handed back to it for another request (handed_back).", []string{"what"}, nil)
)

func (statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{metricClients, metricRequests, metricMessages, metricEmpty, metricDropped, metricBytes, metricParts, metricHTTP2, metricLastID, metricOldestID, metricPublish, metricNode, metricLag, metricJSUp, metricLPDirect} {
		ch <- d
	}
}

func (sc statsCollector) Collect(ch chan<- prometheus.Metric) {
	snap := sc.s.Stats()
	for name, t := range snap.Transports {
		ch <- prometheus.MustNewConstMetric(metricClients, prometheus.GaugeValue, float64(t.Clients), name)
		ch <- prometheus.MustNewConstMetric(metricRequests, prometheus.CounterValue, float64(t.Requests), name)
		ch <- prometheus.MustNewConstMetric(metricMessages, prometheus.CounterValue, float64(t.Messages), name)
		ch <- prometheus.MustNewConstMetric(metricEmpty, prometheus.CounterValue, float64(t.Empty), name)
		ch <- prometheus.MustNewConstMetric(metricDropped, prometheus.CounterValue, float64(t.Dropped), name)
		ch <- prometheus.MustNewConstMetric(metricBytes, prometheus.CounterValue, float64(t.BytesIn), name, "in")
		ch <- prometheus.MustNewConstMetric(metricBytes, prometheus.CounterValue, float64(t.BytesOut), name, "out")
		for _, p := range []struct {
			part    string
			in, out int64
		}{{"heads", t.HeadsIn, t.HeadsOut}, {"framing", t.FramingIn, t.FramingOut}, {"heartbeats", t.HeartbeatsIn, t.HeartbeatsOut}} {
			ch <- prometheus.MustNewConstMetric(metricParts, prometheus.CounterValue, float64(p.in), name, p.part, "in")
			ch <- prometheus.MustNewConstMetric(metricParts, prometheus.CounterValue, float64(p.out), name, p.part, "out")
		}
	}
	if h2 := snap.HTTP2; h2 != nil {
		for _, p := range []struct {
			part    string
			in, out int64
		}{{"socket", h2.BytesIn, h2.BytesOut}, {"connection", h2.ConnectionIn, h2.ConnectionOut}, {"tls", h2.TLSIn, h2.TLSOut}} {
			ch <- prometheus.MustNewConstMetric(metricHTTP2, prometheus.CounterValue, float64(p.in), p.part, "in")
			ch <- prometheus.MustNewConstMetric(metricHTTP2, prometheus.CounterValue, float64(p.out), p.part, "out")
		}
	}
	ch <- prometheus.MustNewConstMetric(metricLastID, prometheus.GaugeValue, float64(snap.Feed.LastID))
	ch <- prometheus.MustNewConstMetric(metricOldestID, prometheus.GaugeValue, float64(snap.Feed.OldestID))
	ch <- prometheus.MustNewConstMetric(metricPublish, prometheus.CounterValue, float64(snap.Feed.Published))
	if snap.Node != "" {
		ch <- prometheus.MustNewConstMetric(metricNode, prometheus.GaugeValue, 1, snap.Node)
	}
	if sc.s.cfg.LongPollWriter == direct.LongPollDirect {
		held, taken, handedBack := sc.s.direct.LongPollCounts()
		ch <- prometheus.MustNewConstMetric(metricLPDirect, prometheus.CounterValue, float64(held), "held")
		ch <- prometheus.MustNewConstMetric(metricLPDirect, prometheus.CounterValue, float64(taken), "taken")
		ch <- prometheus.MustNewConstMetric(metricLPDirect, prometheus.CounterValue, float64(handedBack), "handed_back")
	}
	if js := snap.Feed.JetStream; js != nil {
		up := 0.0
		if js.Connected && js.Error == "" {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(metricLag, prometheus.GaugeValue, float64(js.Lag))
		ch <- prometheus.MustNewConstMetric(metricJSUp, prometheus.GaugeValue, up)
	}
}
