package plan

import (
	"fmt"
	"slices"
	"strings"
)

// Writer rows: rows that measure one of fourway's own writers beside the
// writer it ships with. sse-direct is SSE with --sse-writer direct,
// longpoll-direct the long poll with --longpoll-writer direct. Each uses
// its base transport's client (the wire is the same; only the server's
// writer differs), is measured against a server started with the flag,
// checked in GET /api/config, and is Nchan's base row for -target nchan.
// Everything that treats a writer row differently from its base reads
// WriterRows.

// WriterRow is one row measuring a writer of fourway's own.
type WriterRow struct {
	Name      string // the row: "sse-direct"
	Base      string // the transport whose client it uses and that it is measured beside: "sse"
	Flag      string // fourway's flag choosing the writer: "sse-writer"
	Usual     string // the flag's default, what the base row measures: "r3labs"
	Field     string // where GET /api/config names the writer: "sse.writer"
	Writer    string // what a server has one of, for a reader: "SSE writer"
	Title     string // what the row measures: TransportTitle
	BaseTitle string // what the base row measures, beside it
	// Protos are the protocols the direct writer serves; over any other
	// the server serves the base's writer, so the row would not be what
	// it says: NotOver names them, Why says why.
	Protos  []string
	NotOver string
	Why     string
	Nchan   string // why Nchan's base row stands for both
}

// DirectWriter is the value of every writer row's flag that the row measures.
const DirectWriter = "direct"

// WriterRows are the writer rows, sse-direct and longpoll-direct.
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
