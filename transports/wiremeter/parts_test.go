package wiremeter

import (
	"strings"
	"testing"
)

// FuzzWireFollowers feeds what a client (or a broken server) might put on a
// socket to what follows it there: the counting conn's WebSocket frame and
// chunk followers (parts.go) and the wire inspector's reader
// (inspect.go), fed whole or cut in two. They run on the socket's own
// reads and writes, where a panic ends the process, so: none, and never
// more bytes counted than passed.
func FuzzWireFollowers(f *testing.F) {
	f.Add([]byte("\x81\x8f\x01\x02\x03\x04"+strings.Repeat("x", 15)), uint16(3))
	f.Add([]byte("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x01\x01\x02\x03\x04abc"), uint16(5)) // a length with the top bit set
	f.Add([]byte("\x89\x80\x01\x02\x03\x04\x8a\x84\x01\x02\x03\x04pong"), uint16(7))
	f.Add([]byte("8\r\n: ping\n\n\r\n1b\r\nid: e:1\ndata: {\"id\":1}\n\n\r\n0\r\n\r\n"), uint16(11))
	f.Add([]byte("ffffffffffffffffffffff\r\nx"), uint16(2)) // a size that overflows
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n"), uint16(40))
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x7f\xff\xff\xff\xff\xff\xff\xff\xffzz"), uint16(37))
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		at := 0
		if len(b) > 0 {
			at = int(cut) % (len(b) + 1)
		}
		pieces := [][]byte{b[:at], b[at:]}
		var c Counters
		var frames frameFollower
		var chunks chunkFollower
		chunks.begin()
		for _, p := range pieces {
			frames.follow(&c, p)
			chunks.follow(&c, p)
		}
		n := int64(len(b))
		for dir, what := range []string{"in (frames)", "out (chunks)"} {
			fr, hb := c.framing[dir].Load(), c.heartbeats[dir].Load()
			if fr < 0 || hb < 0 || fr+hb > n {
				t.Fatalf("%s: framing %d and heartbeats %d of %d bytes", what, fr, hb, n)
			}
		}
		for _, w := range []wireReader{{state: readFrames}, {state: readHead}} {
			x := &Exchange{Frames: &wireFrameSets{}}
			for _, p := range pieces {
				w.feed(x, p, false)
			}
			if p := x.Parts; p.ResponseHead+p.Framing+p.Heartbeats+p.Payload > n {
				t.Fatalf("the inspector counted %+v of %d bytes", p, n)
			}
		}
	})
}
