package plan

import (
	"fmt"
	"slices"
	"strings"
)

// WriterRow is one row measuring a writer of fourway's own.
type WriterRow struct {
	Name      string // the row: "sse-direct"
	Base      string // the transport whose client it uses and that it is measured beside: "sse"
	Flag      string // fourway's flag choosing the writer: "sse-writer"
	Usual     string // the flag's default, what the base row measures: "r3labs"
	Field     string // where GET /api/config names the writer: "sse.writer"
	Writer    string // what a server has one of, for a reader: "SSE writer"
	Title     string // what the row measures: transportTitle
	BaseTitle string // what the base row measures, beside it
	// Protos are the protocols the direct writer serves; over any other
	// the server serves the base's writer, so the row would not be what
	// it says: notOver names them, why says why.
	Protos  []string
	NotOver string
	Why     string
	Nchan   string // why Nchan's base row stands for both
}

// DirectWriter is the value of every writer row's flag that the row measures.
const DirectWriter = "direct"

var WriterRows = []WriterRow{
	{
		Name: "sse-direct", Base: "sse", Flag: "sse-writer", Usual: "r3labs", Field: "sse.writer", Writer: "SSE writer",
		Title: "SSE (direct writer: the protocol's cost)", BaseTitle: "SSE (r3labs/sse library)",
		Protos: []string{"h1", "h1tls"}, NotOver: "HTTP/2",
		Why:   "fourway's direct writer takes a connection of its own; under HTTP/2 the library serves SSE",
		Nchan: "Nchan has one SSE writer: its sse row stands for both",
	},
	{
		Name: "longpoll-direct", Base: "longpoll", Flag: "longpoll-writer", Usual: "nethttp", Field: "longpoll.writer", Writer: "long-poll writer",
		Title: "long poll (direct writer: without net/http's request cycle)", BaseTitle: "long poll (net/http)",
		Protos: []string{"h1"}, NotOver: "TLS or HTTP/2",
		Why:   "fourway's direct long-poll writer serves only HTTP/1.1 in the clear; under TLS and HTTP/2 net/http serves the long poll",
		Nchan: "Nchan has one long poll: its longpoll row stands for both",
	},
}

// WriterRowOf is the writer row named tr, or nil.
func WriterRowOf(tr string) *WriterRow {
	for i := range WriterRows {
		if WriterRows[i].Name == tr {
			return &WriterRows[i]
		}
	}
	return nil
}

// WriterFor is the row's flag for a scenario: "direct" when it measures
// the row, else the default.
func (w WriterRow) WriterFor(sc Scenario) string {
	if slices.Contains(sc.Transports(), w.Name) {
		return DirectWriter
	}
	return w.Usual
}

// directServes reports whether the server serves every writer row of
// tr ("ws+longpoll-direct") with its direct writer over proto.
func directServes(tr, proto string) bool {
	for _, p := range strings.Split(tr, "+") {
		if w := WriterRowOf(p); w != nil && !slices.Contains(w.Protos, proto) {
			return false
		}
	}
	return true
}

// checkDirectProtos refuses a writer row over a protocol its direct
// writer does not serve (sse-direct over HTTP/2, longpoll-direct over
// TLS or HTTP/2) when the row was asked for by name: the server would
// serve the base's writer, and the row would not be what it says. The
// default transports leave such rows out (planScenarios), as the legend
// says.
func checkDirectProtos(protos []string, plan string, trs []string, transportsSet bool) error {
	for _, p := range protos {
		for _, w := range WriterRows {
			named := strings.Contains(plan, w.Name)
			if transportsSet && plan == "" {
				for _, t := range trs {
					named = named || slices.Contains(strings.Split(t, "+"), w.Name)
				}
			}
			if named && !slices.Contains(w.Protos, p) {
				return fmt.Errorf("-proto %s: %s cannot run over %s (%s): measure %s over %s, %s over %s",
					p, w.Name, w.NotOver, w.Why, w.Base, p, w.Name, JoinOr(w.Protos))
			}
		}
	}
	return nil
}

// checkWriterPair refuses a mixed scenario of a writer row and its base:
// one server has one writer of each kind.
func checkWriterPair(t string, parts []string) error {
	for _, w := range WriterRows {
		if slices.Contains(parts, w.Base) && slices.Contains(parts, w.Name) {
			return fmt.Errorf("%q: one server has one %s, so %s and %s cannot share it", t, w.Writer, w.Base, w.Name)
		}
	}
	return nil
}

// JoinOr is "h1", "h1 or h1tls", "h1tls, h2 or h2c".
func JoinOr(list []string) string {
	if len(list) < 2 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}
