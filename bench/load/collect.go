package load

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"fourway/bench/record"
)

// group is the subscribers of one transport in a scenario.
type group struct {
	transport string
	run       func(context.Context, *sub)
	subs      []*sub
	hists     HistSet
}

// collect fills r in from its subscribers, once they have returned, and
// the publisher: every subscriber checked against every acknowledged
// message, their counters summed, the latency and the wire cost. killed
// is when the server's process was killed (-storm restart), 0 if never.
func collect(r *record.Result, subs []*sub, pub *publisher, hists HistSet, killed int64) {
	t := tally{epochs: map[string]bool{}, encodings: map[string]int64{}, gone: map[int]bool{}}
	for _, s := range subs {
		countDeliveries(r, s, pub, killed, t.gone)
		t.add(r, s)
	}
	r.Latency = LatencyOf(hists.Merged())
	r.Wire = t.wire(len(subs))
	if r.Compress {
		r.Compression = compressionOf(t.encodings)
	}
	r.Notes = append(r.Notes, t.notes(r)...)
}

// countDeliveries checks one subscriber against every message the server
// acknowledged, and adds its counters to r's. A server killed at killed
// (Mono; 0: never) took its in-memory feed with it: a message it had
// acknowledged but not yet sent to this subscriber can reach it no more,
// from any server. Such a message, one whose POST began before the kill,
// is counted apart from the lost (r.LostWithServer), its seq added to gone.
func countDeliveries(r *record.Result, s *sub, pub *publisher, killed int64, gone map[int]bool) {
	for seq, ok := range pub.ok {
		if !ok {
			continue
		}
		r.Expected++
		switch {
		case seq < len(s.seen) && s.seen[seq] > 0:
			r.Delivered++
		case killed != 0 && pub.sent[seq] < killed:
			r.LostWithServer++
			gone[seq] = true
		default:
			r.Lost++
		}
	}
	r.Duplicated += s.dups
	r.Reconnects += s.reconnects
	r.Errors += s.errors
	r.Anomalies += s.anomalies
	r.Skipped += s.skippedTicks
	r.WindowDeliveries += s.inWindow.Load()
}

// tally is what a group's subscribers add up to: their bytes and
// requests, the polls' exchanges, who gave up and the epochs they ended in.
type tally struct {
	span, handshake, total       counts
	exchMsg, exchEmpty           int64 // poll exchanges with messages, and empty
	exchMsgBytes, exchEmptyBytes int64 // their bytes, less the payload
	reqFirst, reqLater           int64 // one poller's first request's bytes, and a later one's
	reqN                         int   // which request the later one is
	gaveUp                       int
	firstGaveUp                  string
	epochs                       map[string]bool
	encodings                    map[string]int64 // units of messages per compression, with -compress
	gone                         map[int]bool     // seqs that died with a killed server before reaching everyone
}

// add adds one subscriber, and sets r's epoch and negotiated protocol
// from the first that has them.
func (t *tally) add(r *record.Result, s *sub) {
	if s.gaveUp != "" {
		if t.gaveUp == 0 {
			t.firstGaveUp = fmt.Sprintf("subscriber %d: %s", s.idx, s.gaveUp)
		}
		t.gaveUp++
	}
	if s.feedEpoch != "" {
		t.epochs[s.feedEpoch] = true
		if r.Epoch == "" {
			r.Epoch = s.feedEpoch
		}
	}
	if r.Negotiated == "" {
		r.Negotiated = s.negotiated
	}
	for enc, n := range s.encodings {
		t.encodings[enc] += n
	}
	t.span = t.span.add(s.span())
	t.handshake = t.handshake.add(s.handshake)
	t.total = t.total.add(s.snapshot())
	t.exchMsg += s.exchMsg
	t.exchEmpty += s.exchEmpty
	t.exchMsgBytes += s.exchMsgBytes
	t.exchEmptyBytes += s.exchEmptyBytes
	if s.reqUp != nil {
		t.reqFirst = s.reqUp[0].Load()
		for k := len(s.reqUp) - 1; k > 0; k-- {
			if v := s.reqUp[k].Load(); v > 0 {
				t.reqLater, t.reqN = v, k+1
				break
			}
		}
	}
}

// wire is the wire cost per delivered message over the subscribers'
// spans, their handshakes, and all they carried.
func (t *tally) wire(subs int) record.Wire {
	w := record.Wire{Messages: t.span.Messages, ReqHeaderFirst: t.reqFirst, ReqHeaderLater: t.reqLater, ReqHeaderN: t.reqN}
	span := t.span
	if n := float64(span.Messages); n > 0 {
		w.DownPerMsg = float64(span.Down) / n
		w.UpPerMsg = float64(span.Up) / n
		w.PayloadPerMsg = float64(span.Payload) / n
		w.OverheadPerMsg = float64(span.Down+span.Up-span.Payload) / n
		w.RequestsPerMsg = float64(span.Requests) / n
		w.DecodedPerMsg = float64(span.Decoded) / n
	}
	if subs > 0 {
		w.HandshakeDown, w.HandshakeUp = float64(t.handshake.Down)/float64(subs), float64(t.handshake.Up)/float64(subs)
	}
	if t.exchMsg > 0 {
		w.ExchangeOverhead = float64(t.exchMsgBytes) / float64(t.exchMsg)
		w.EmptyShare = float64(t.exchEmpty) / float64(t.exchMsg+t.exchEmpty)
	}
	if t.exchEmpty > 0 {
		w.EmptyExchange = float64(t.exchEmptyBytes) / float64(t.exchEmpty)
	}
	w.TotalDown, w.TotalUp, w.TotalRequests = t.total.Down, t.total.Up, t.total.Requests
	return w
}

// notes say what went wrong with the row, or what to read its figures with.
func (t *tally) notes(r *record.Result) []string {
	var notes []string
	if t.gaveUp > 0 {
		notes = append(notes, fmt.Sprintf("%d subscriber(s) gave up on an answer that asking again cannot change; first: %s", t.gaveUp, t.firstGaveUp))
	}
	if len(t.epochs) > 1 {
		notes = append(notes, fmt.Sprintf("the subscribers ended in %d different epochs: the server's id sequence started over during the run", len(t.epochs)))
	}
	if r.LostWithServer > 0 {
		notes = append(notes, fmt.Sprintf("%d deliveries of %d message(s) the server acknowledged just before it was killed never arrived: gone with its in-memory feed (-storm restart), counted apart from the lost", r.LostWithServer, len(t.gone)))
	}
	if r.Lost > 0 || r.Duplicated > 0 {
		notes = append(notes, fmt.Sprintf("DELIVERY CHECK FAILED: %d lost, %d duplicated (both must be 0 on loopback)", r.Lost, r.Duplicated))
	}
	if r.Latency.Count == 0 {
		notes = append(notes, "no message was received inside the window")
	}
	if r.PublishLate > 0 {
		notes = append(notes, fmt.Sprintf("%d publishes started over 10 ms late: the publisher or the machine was saturated (latency still counts from the intended time)", r.PublishLate))
	}
	return notes
}

// compressionOf says what the units of messages came in: the one
// encoding, or each with its share, most first.
func compressionOf(units map[string]int64) string {
	var total int64
	encs := make([]string, 0, len(units))
	for enc, n := range units {
		total += n
		encs = append(encs, enc)
	}
	switch len(encs) {
	case 0:
		return noEncoding + " (no message came)"
	case 1:
		return encs[0]
	}
	sort.Slice(encs, func(i, j int) bool {
		if units[encs[i]] != units[encs[j]] {
			return units[encs[i]] > units[encs[j]]
		}
		return encs[i] < encs[j]
	})
	parts := make([]string, len(encs))
	for i, enc := range encs {
		parts[i] = fmt.Sprintf("%s %.0f %%", enc, 100*float64(units[enc])/float64(total))
	}
	return strings.Join(parts, ", ")
}
