package plan

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// AllTransports are the four transports of the wire contract.
var AllTransports = []string{"poll", "longpoll", "sse", "ws"}

// KnownTransports are the names -transports and -plan take, and what the
// bench measures by default: the four, and beside their base transport
// the writer rows (WriterRows): longpoll-direct, the long poll served by
// fourway's own HTTP/1.1 path (--longpoll-writer direct) instead of
// net/http's request cycle, and sse-direct, SSE served by fourway's own
// writer (--sse-writer direct) instead of the r3labs/sse library, so that
// a reader sees the protocol's cost and the library's apart. With -url,
// the default is the four: the running server has one writer of each.
var KnownTransports = []string{"poll", "longpoll", "longpoll-direct", "sse", "sse-direct", "ws"}

// TransportTitle is what a transport's row measures, for a reader choosing
// between them: the writer rows and their bases.
func TransportTitle(tr string) string {
	for _, w := range WriterRows {
		switch tr {
		case w.Name:
			return w.Title
		case w.Base:
			return w.BaseTitle
		}
	}
	return ""
}

// checkTransport accepts a transport name, or a mixed scenario of two or
// more different ones joined by "+" ("ws+sse").
func checkTransport(t string) error {
	parts := strings.Split(t, "+")
	for i, p := range parts {
		if p == "" {
			return fmt.Errorf("%q: a mixed scenario joins transport names with +, and one is empty", t)
		}
		if !slices.Contains(KnownTransports, p) {
			return fmt.Errorf("%q is not one of %s (or several of them joined by +)", p, strings.Join(KnownTransports, ", "))
		}
		if slices.Contains(parts[:i], p) {
			return fmt.Errorf("%q names %s twice: a mixed scenario has one group of subscribers per transport", t, p)
		}
	}
	return checkWriterPair(t, parts)
}

// mixedParts returns the transports of a mixed scenario ("ws+sse"), or
// nil for a single transport.
func mixedParts(t string) []string {
	if !strings.Contains(t, "+") {
		return nil
	}
	return strings.Split(t, "+")
}

// NchanTransport is the Nchan transport that stands for a fourway one:
// the same, but a writer row, which is Nchan's row of its base
// (sse-direct Nchan's sse, longpoll-direct Nchan's longpoll: Nchan has
// one writer of each), also inside a mixed scenario.
func NchanTransport(tr string) string {
	parts := strings.Split(tr, "+")
	for i, p := range parts {
		parts[i] = BaseTransport(p)
	}
	return strings.Join(parts, "+")
}

// BaseTransport is the transport whose client a row uses, and whose
// name /api/stats and Nchan give it: sse for sse-direct, longpoll for
// longpoll-direct, any other transport itself.
func BaseTransport(tr string) string {
	if w := WriterRowOf(tr); w != nil {
		return w.Base
	}
	return tr
}

// knownProtos are the names -proto takes.
var knownProtos = []string{"h1", "h1tls", "h2", "h2c"}

// ProtoTitle says what a protocol name means, for the legend.
func ProtoTitle(p string) string {
	switch p {
	case "h1":
		return "HTTP/1.1, cleartext"
	case "h1tls":
		return "HTTP/1.1 over TLS (HTTP/2 not offered)"
	case "h2":
		return "HTTP/2 over TLS for polls, long polls and SSE; WebSocket on HTTP/1.1 over TLS"
	case "h2c":
		return "cleartext HTTP/2, prior knowledge, for polls, long polls and SSE; WebSocket on plain HTTP/1.1"
	}
	return ""
}

// checkProto accepts a -proto name.
func checkProto(p string) error {
	if !slices.Contains(knownProtos, p) {
		return fmt.Errorf("-proto: %q is not one of %s", p, strings.Join(knownProtos, ", "))
	}
	return nil
}

// ProtoTLS reports whether a protocol runs inside TLS.
func ProtoTLS(p string) bool { return p == "h1tls" || p == "h2" }

// SchemeFor is the URL scheme of a server speaking p.
func SchemeFor(p string) string {
	if ProtoTLS(p) {
		return "https"
	}
	return "http"
}

// errNoProto is the error of a -proto that names none.
var errNoProto = errors.New("-proto needs at least one value")

// The setups of -cluster, in the order each transport is measured on them.
const (
	SetupMemory    = "memory"    // one fourway node, the in-memory feed
	SetupJetStream = "jetstream" // one fourway node on the R3 stream
	SetupCluster   = "cluster"   // two fourway nodes on the R3 stream, behind nginx
)

// ClusterSetups are the setups of -cluster, in that order.
var ClusterSetups = []string{SetupMemory, SetupJetStream, SetupCluster}

// SetupTitle says what a setup is, for the report.
func SetupTitle(s string) string {
	switch s {
	case SetupMemory:
		return "1 node, in-memory feed"
	case SetupJetStream:
		return "1 node, JetStream R3 (3 nats-server)"
	case SetupCluster:
		return "2 nodes, JetStream R3 (3 nats-server), behind nginx"
	}
	return s
}

// PayloadKind is a kind of published data that -payload names beside a
// size: content of a fixed size shaped like what an application sends,
// so that compression has what it would have in use (the load package
// writes it; a size alone is padding, which compresses to nothing).
type PayloadKind struct {
	Name  string
	Bytes int    // the data's size, every message alike
	Title string // what it stands for, for the legend
}

// PayloadKinds are the kinds -payload and -plan take by name.
var PayloadKinds = []PayloadKind{
	{"json256", 256, "a chat message: 256 bytes of JSON"},
	{"json4k", 4096, "a dashboard update: 4 KiB of JSON"},
	{"text32k", 32768, "a document: 32 KiB of prose in JSON"},
}

// PayloadKindOf is the kind of that name, or nil.
func PayloadKindOf(name string) *PayloadKind {
	for i := range PayloadKinds {
		if PayloadKinds[i].Name == name {
			return &PayloadKinds[i]
		}
	}
	return nil
}

// parsePayload reads one payload of -payload or -plan: a positive whole
// number of bytes of padded data, or the name of a payload kind.
func parsePayload(s string) (bytes int, kind string, err error) {
	if k := PayloadKindOf(s); k != nil {
		return k.Bytes, k.Name, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		names := make([]string, len(PayloadKinds))
		for i, k := range PayloadKinds {
			names[i] = k.Name
		}
		return 0, "", fmt.Errorf("%q is neither a positive whole number of bytes nor a payload kind (%s)", s, strings.Join(names, ", "))
	}
	return n, "", nil
}
