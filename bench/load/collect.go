package load

import (
	"fmt"

	"fourway/bench/record"
)

// collect fills r in from its subscribers, once they have returned, and
// the publisher.
func collect(r *record.Result, subs []*sub, pub *publisher, hists HistSet) {
	var span, hs, total counts
	var exchMsg, exchEmpty, exchMsgBytes, exchEmptyBytes int64
	var gaveUp int
	var firstGaveUp string
	epochs := map[string]bool{}
	for _, s := range subs {
		if s.gaveUp != "" {
			if gaveUp == 0 {
				firstGaveUp = fmt.Sprintf("subscriber %d: %s", s.idx, s.gaveUp)
			}
			gaveUp++
		}
		if s.feedEpoch != "" {
			epochs[s.feedEpoch] = true
			if r.Epoch == "" {
				r.Epoch = s.feedEpoch
			}
		}
		for seq, ok := range pub.ok {
			if !ok {
				continue
			}
			r.Expected++
			if seq < len(s.seen) && s.seen[seq] > 0 {
				r.Delivered++
			} else {
				r.Lost++
			}
		}
		r.Duplicated += s.dups
		r.Reconnects += s.reconnects
		r.Errors += s.errors
		r.Anomalies += s.anomalies
		r.Skipped += s.skippedTicks
		r.WindowDeliveries += s.inWindow.Load()
		span = span.add(s.span())
		hs = hs.add(s.handshake)
		total = total.add(s.snapshot())
		exchMsg += s.exchMsg
		exchEmpty += s.exchEmpty
		exchMsgBytes += s.exchMsgBytes
		exchEmptyBytes += s.exchEmptyBytes
		if r.Negotiated == "" {
			r.Negotiated = s.negotiated
		}
		if s.reqUp != nil {
			r.Wire.ReqHeaderFirst = s.reqUp[0].Load()
			for k := len(s.reqUp) - 1; k > 0; k-- {
				if v := s.reqUp[k].Load(); v > 0 {
					r.Wire.ReqHeaderLater, r.Wire.ReqHeaderN = v, k+1
					break
				}
			}
		}
	}
	if gaveUp > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d subscriber(s) gave up on an answer that asking again cannot change; first: %s", gaveUp, firstGaveUp))
	}
	if len(epochs) > 1 {
		r.Notes = append(r.Notes, fmt.Sprintf("the subscribers ended in %d different epochs: the server's id sequence started over during the run", len(epochs)))
	}
	r.Latency = LatencyOf(hists.Merged())
	w := record.Wire{Messages: span.Messages, ReqHeaderFirst: r.Wire.ReqHeaderFirst, ReqHeaderLater: r.Wire.ReqHeaderLater, ReqHeaderN: r.Wire.ReqHeaderN}
	if n := float64(span.Messages); n > 0 {
		w.DownPerMsg = float64(span.Down) / n
		w.UpPerMsg = float64(span.Up) / n
		w.PayloadPerMsg = float64(span.Payload) / n
		w.OverheadPerMsg = float64(span.Down+span.Up-span.Payload) / n
		w.RequestsPerMsg = float64(span.Requests) / n
	}
	if n := float64(len(subs)); n > 0 {
		w.HandshakeDown, w.HandshakeUp = float64(hs.Down)/n, float64(hs.Up)/n
	}
	if exchMsg > 0 {
		w.ExchangeOverhead = float64(exchMsgBytes) / float64(exchMsg)
		w.EmptyShare = float64(exchEmpty) / float64(exchMsg+exchEmpty)
	}
	if exchEmpty > 0 {
		w.EmptyExchange = float64(exchEmptyBytes) / float64(exchEmpty)
	}
	w.TotalDown, w.TotalUp, w.TotalRequests = total.Down, total.Up, total.Requests
	r.Wire = w
	if r.Lost > 0 || r.Duplicated > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("DELIVERY CHECK FAILED: %d lost, %d duplicated (both must be 0 on loopback)", r.Lost, r.Duplicated))
	}
	if r.Latency.Count == 0 {
		r.Notes = append(r.Notes, "no message was received inside the window")
	}
	if r.PublishLate > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d publishes started over 10 ms late: the publisher or the machine was saturated (latency still counts from the intended time)", r.PublishLate))
	}
}
