package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"fourway/bench/plan"
)

// What fourway itself counted of a row's bytes: its /api/stats says, per
// transport, which of the bytes on its sockets were heads (HTTP/1.1 in the
// clear: request lines and headers, status lines and headers) and, under
// HTTP/2, how many frames its streams took (9 bytes of frame header each)
// and how many bytes their HPACK header blocks; and, for the streams, the
// framing and heartbeats it wrote and read (WebSocket frame headers, SSE
// field names and chunk framing, pings and pongs). The bench reads it at
// the window's start and end, so the row splits its overhead into headers
// and framing as the server measured them. Nchan counts nothing of the
// kind.

// serverCounts is one transport's part of GET /api/stats.
type serverCounts struct {
	HeadsIn       int64     `json:"heads_in"`
	HeadsOut      int64     `json:"heads_out"`
	FramingIn     int64     `json:"framing_in"`
	FramingOut    int64     `json:"framing_out"`
	HeartbeatsIn  int64     `json:"heartbeats_in"`
	HeartbeatsOut int64     `json:"heartbeats_out"`
	HTTP2         *h2Counts `json:"http2"`
}

// h2Counts are a transport's HTTP/2 frames and header block bytes.
type h2Counts struct {
	FramesIn   int64 `json:"frames_in"`
	FramesOut  int64 `json:"frames_out"`
	HeadersIn  int64 `json:"headers_in"`
	HeadersOut int64 `json:"headers_out"`
}

// nodeCounts is the sum of every transport's counts over the fourway
// nodes at bases; nil when there are none.
func nodeCounts(ctx context.Context, c *http.Client, bases []string) (map[string]serverCounts, error) {
	if len(bases) == 0 {
		return nil, nil
	}
	sum := map[string]serverCounts{}
	for _, base := range bases {
		each, err := fourwayCounts(ctx, c, base)
		if err != nil {
			return nil, err
		}
		for k, v := range each {
			s := sum[k]
			s.HeadsIn += v.HeadsIn
			s.HeadsOut += v.HeadsOut
			s.FramingIn += v.FramingIn
			s.FramingOut += v.FramingOut
			s.HeartbeatsIn += v.HeartbeatsIn
			s.HeartbeatsOut += v.HeartbeatsOut
			if v.HTTP2 != nil {
				if s.HTTP2 == nil {
					s.HTTP2 = &h2Counts{}
				}
				s.HTTP2.FramesIn += v.HTTP2.FramesIn
				s.HTTP2.FramesOut += v.HTTP2.FramesOut
				s.HTTP2.HeadersIn += v.HTTP2.HeadersIn
				s.HTTP2.HeadersOut += v.HTTP2.HeadersOut
			}
			sum[k] = s
		}
	}
	return sum, nil
}

// fourwayCounts reads every transport's counts from the fourway at base.
func fourwayCounts(ctx context.Context, c *http.Client, base string) (map[string]serverCounts, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/stats", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/stats: %s", resp.Status)
	}
	var st struct {
		Transports map[string]serverCounts `json:"transports"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("GET /api/stats: %w", err)
	}
	return st.Transports, nil
}

// statsTransport is the name /api/stats gives the bench's transport.
func statsTransport(t string) string { return plan.BaseTransport(t) }

// serverSplit is what fourway counted of a transport's bytes between a
// and b, per delivered message: its headers (HTTP/1.1 heads, or HTTP/2
// header blocks) and, under HTTP/2, its frames' headers.
func serverSplit(a, b serverCounts, deliveries int64) (headers, frames float64) {
	if deliveries <= 0 {
		return 0, 0
	}
	h := (b.HeadsIn + b.HeadsOut) - (a.HeadsIn + a.HeadsOut)
	var f int64
	if b.HTTP2 != nil {
		was := a.HTTP2
		if was == nil {
			was = &h2Counts{}
		}
		h += (b.HTTP2.HeadersIn + b.HTTP2.HeadersOut) - (was.HeadersIn + was.HeadersOut)
		f = 9 * ((b.HTTP2.FramesIn + b.HTTP2.FramesOut) - (was.FramesIn + was.FramesOut))
	}
	n := float64(deliveries)
	return float64(h) / n, float64(f) / n
}

// serverStreamParts is what fourway counted of a stream's framing and
// heartbeats between a and b, both ways, per delivered message (zero for
// the polls, which have none).
func serverStreamParts(a, b serverCounts, deliveries int64) (framing, heartbeats float64) {
	if deliveries <= 0 {
		return 0, 0
	}
	n := float64(deliveries)
	return float64(b.FramingIn+b.FramingOut-a.FramingIn-a.FramingOut) / n,
		float64(b.HeartbeatsIn+b.HeartbeatsOut-a.HeartbeatsIn-a.HeartbeatsOut) / n
}
