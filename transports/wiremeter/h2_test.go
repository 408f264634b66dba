package wiremeter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Script is one side of an HTTP/2 conversation written frame by frame,
// each frame's size filed under the name of the counters it belongs to.
type h2Script struct {
	turns *[]h2Turn // the conversation's, shared by both sides
	dir   int
	buf   bytes.Buffer
	fr    *http2.Framer
	enc   *hpack.Encoder
	block bytes.Buffer
	want  map[string]int64 // bytes per counters: "poll", "sse", "conn", ...
	heads map[string]int64 // of which HEADERS and CONTINUATION frames
	count map[string]int64 // frames
}

// h2Turn is a side's bytes up to end, in the order the two sides wrote them.
type h2Turn struct{ dir, end int }

func newH2Script(turns *[]h2Turn, dir int) *h2Script {
	s := &h2Script{turns: turns, dir: dir, want: map[string]int64{}, heads: map[string]int64{}, count: map[string]int64{}}
	s.fr = http2.NewFramer(&s.buf, nil)
	s.enc = hpack.NewEncoder(&s.block)
	return s
}

// frame files the bytes write adds under whose.
func (s *h2Script) frame(t *testing.T, whose string, headers bool, write func() error) {
	t.Helper()
	before := s.buf.Len()
	if err := write(); err != nil {
		t.Fatal(err)
	}
	n := int64(s.buf.Len() - before)
	if k := len(*s.turns); k > 0 && (*s.turns)[k-1].dir == s.dir {
		(*s.turns)[k-1].end = s.buf.Len() // the same side again: one run
	} else {
		*s.turns = append(*s.turns, h2Turn{s.dir, s.buf.Len()})
	}
	s.want[whose] += n
	s.count[whose]++
	if headers {
		s.heads[whose] += n - 9 // the block, without the frame's header
	}
}

// encode is the HPACK block of a request or response's fields.
func (s *h2Script) encode(fields ...string) []byte {
	s.block.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		_ = s.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return bytes.Clone(s.block.Bytes())
}

func request(path string) []string {
	return []string{":method", "GET", ":scheme", "https", ":authority", "127.0.0.1", ":path", path, "accept", "*/*"}
}

// TestHTTP2FramesAreCountedPerStream: the meter gives each stream's frames
// to its request's transport and the rest to the connection, exactly, in
// whatever pieces the bytes pass: a request's block split into HEADERS and
// CONTINUATION, with padding and a priority, a percent-encoded path, a
// stream reset, a frame for a stream already closed.
func TestHTTP2FramesAreCountedPerStream(t *testing.T) {
	var turns []h2Turn
	in, out := newH2Script(&turns, In), newH2Script(&turns, Out)
	in.buf.WriteString(http2.ClientPreface)
	in.want["conn"] += int64(len(http2.ClientPreface))

	in.frame(t, "conn", false, func() error { return in.fr.WriteSettings() })
	out.frame(t, "conn", false, func() error {
		return out.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 250})
	})
	out.frame(t, "conn", false, func() error { return out.fr.WriteWindowUpdate(0, 1<<20) })
	in.frame(t, "conn", false, func() error { return in.fr.WriteSettingsAck() })

	// Stream 1, a poll: one HEADERS frame, the answer's HEADERS and DATA.
	in.frame(t, "poll", true, func() error {
		return in.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: in.encode(request("/api/poll?since=0")...), EndStream: true, EndHeaders: true})
	})
	out.frame(t, "poll", true, func() error {
		return out.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: out.encode(":status", "200", "content-type", "application/json"), EndHeaders: true})
	})
	out.frame(t, "poll", false, func() error { return out.fr.WriteData(1, true, []byte(`{"messages":[],"next":0}`)) })

	// Stream 3, SSE: its block padded, with a priority, cut in three.
	block := in.encode(request("/api/s%73e?since=0")...)
	in.frame(t, "sse", true, func() error {
		return in.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block[:5], EndStream: true, PadLength: 7,
			Priority: http2.PriorityParam{StreamDep: 0, Weight: 15}})
	})
	in.frame(t, "sse", true, func() error { return in.fr.WriteContinuation(3, false, block[5:9]) })
	in.frame(t, "sse", true, func() error { return in.fr.WriteContinuation(3, true, block[9:]) })
	out.frame(t, "sse", true, func() error {
		return out.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: out.encode(":status", "200", "content-type", "text/event-stream"), EndHeaders: true})
	})
	out.frame(t, "sse", false, func() error { return out.fr.WriteData(3, false, []byte("event: hello\ndata: {}\n\n")) })
	in.frame(t, "sse", false, func() error { return in.fr.WriteWindowUpdate(3, 100) })
	out.frame(t, "conn", false, func() error { return out.fr.WritePing(false, [8]byte{1}) })
	in.frame(t, "conn", false, func() error { return in.fr.WritePing(true, [8]byte{1}) })

	// Stream 5, the page (an unknown path: "other"); the HPACK table now
	// holds entries of the blocks before, so its block leans on them.
	in.frame(t, "other", true, func() error {
		return in.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: in.encode(request("/")...), EndStream: true, EndHeaders: true})
	})
	out.frame(t, "other", true, func() error {
		return out.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: out.encode(":status", "200"), EndHeaders: true})
	})
	out.frame(t, "other", false, func() error { return out.fr.WriteData(5, true, nil) })
	// Stream 5 is closed: a late WINDOW_UPDATE for it is the connection's.
	in.frame(t, "conn", false, func() error { return in.fr.WriteWindowUpdate(5, 10) })

	// The SSE stream is cut: its RST_STREAM is its own, what comes after is not.
	out.frame(t, "sse", false, func() error { return out.fr.WriteRSTStream(3, http2.ErrCodeCancel) })
	in.frame(t, "conn", false, func() error { return in.fr.WriteWindowUpdate(3, 10) })
	out.frame(t, "conn", false, func() error { return out.fr.WriteGoAway(5, http2.ErrCodeNo, nil) })

	inBytes, outBytes := in.buf.Bytes(), out.buf.Bytes()
	for _, cut := range []string{"whole", "byte by byte", "random pieces"} {
		t.Run(cut, func(t *testing.T) {
			var st Stats
			_, m := st.meter(nil, false, 0)
			// Each side's bytes pass in the order they were written, a
			// side's run of frames in pieces that may cut a frame anywhere.
			sides := [2]struct {
				f    *h2Frames
				b    []byte
				done int
			}{{&m.in, inBytes, 0}, {&m.out, outBytes, 0}}
			rng := rand.New(rand.NewPCG(1, 2))
			for _, turn := range turns {
				side := &sides[turn.dir]
				for side.done < turn.end {
					n := turn.end - side.done
					switch cut {
					case "byte by byte":
						n = 1
					case "random pieces":
						n = min(n, 1+rng.IntN(40))
					}
					side.f.follow(side.b[side.done : side.done+n])
					side.done += n
				}
			}
			named := map[string]*Counters{"poll": &st.Poll, "sse": &st.SSE, "other": &st.other, "conn": &st.h2conn, "longpoll": &st.LongPoll, "ws": &st.WS}
			for name, c := range named {
				if got := c.bytesIn.Load(); got != in.want[name] {
					t.Errorf("%s: %d bytes in, want %d", name, got, in.want[name])
				}
				if got := c.bytesOut.Load(); got != out.want[name] {
					t.Errorf("%s: %d bytes out, want %d", name, got, out.want[name])
				}
				if name == "conn" {
					continue
				}
				if got := c.h2headers[In].Load(); got != in.heads[name] {
					t.Errorf("%s: %d header bytes in, want %d", name, got, in.heads[name])
				}
				if got := c.h2headers[Out].Load(); got != out.heads[name] {
					t.Errorf("%s: %d header bytes out, want %d", name, got, out.heads[name])
				}
				if got, want := c.h2frames[In].Load()+c.h2frames[Out].Load(), in.count[name]+out.count[name]; got != want {
					t.Errorf("%s: %d frames, want %d", name, got, want)
				}
			}
			if st.h2frames.bytesIn.Load() != int64(len(inBytes)) || st.h2frames.bytesOut.Load() != int64(len(outBytes)) {
				t.Errorf("all frames: %d in, %d out, want %d and %d", st.h2frames.bytesIn.Load(), st.h2frames.bytesOut.Load(), len(inBytes), len(outBytes))
			}
			if len(m.streams) != 0 {
				t.Errorf("streams still open after every one ended: %v", m.streams)
			}
		})
	}
}

// FuzzHTTP2Meter: whatever a client sends, the meter neither panics nor
// counts more than passed, nor holds more than its bound.
func FuzzHTTP2Meter(f *testing.F) {
	var turns []h2Turn
	s := newH2Script(&turns, In)
	s.buf.WriteString(http2.ClientPreface)
	_ = s.fr.WriteSettings()
	_ = s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: s.encode(request("/api/poll")...), EndStream: true, EndHeaders: true})
	f.Add(s.buf.Bytes())
	f.Add([]byte(http2.ClientPreface + "\x00\x00\x05\x01\x0d\x00\x00\x00\x01\x09\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var st Stats
		_, m := st.meter(nil, false, 0)
		m.in.follow(b)
		m.out.follow(b)
		if in := st.h2frames.bytesIn.Load(); in > int64(len(b)) {
			t.Errorf("%d bytes counted of %d", in, len(b))
		}
		if len(m.in.block) > h2BlockMax {
			t.Errorf("a header block of %d bytes held", len(m.in.block))
		}
	})
}

// BenchmarkHTTP2Meter is what the meter adds to a long poll's exchange
// over HTTP/2: the request's HEADERS (decoded for its path), the answer's
// HEADERS and DATA, per op.
func BenchmarkHTTP2Meter(b *testing.B) {
	var turns []h2Turn
	in, out := newH2Script(&turns, In), newH2Script(&turns, Out)
	var reqs, answers [][]byte
	for id := uint32(1); id < 200; id += 2 { // a hundred requests, HPACK's table warm after the first
		start := in.buf.Len()
		_ = in.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: in.encode(request("/api/longpoll?since=" + string(rune('0'+id%10)))...), EndStream: true, EndHeaders: true})
		reqs = append(reqs, bytes.Clone(in.buf.Bytes()[start:]))
		start = out.buf.Len()
		_ = out.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: out.encode(":status", "200", "content-type", "application/json"), EndHeaders: true})
		_ = out.fr.WriteData(id, true, bytes.Repeat([]byte("x"), 300))
		answers = append(answers, bytes.Clone(out.buf.Bytes()[start:]))
	}
	b.ReportAllocs()
	for b.Loop() {
		var st Stats
		_, m := st.meter(nil, true, 0)
		for i := range reqs {
			m.in.follow(reqs[i])
			m.out.follow(answers[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(reqs)), "ns/exchange")
}

// TestAShutdownClosesTheHTTP2ConnectionsWithNoStreamOpen: a connection
// whose serving began as the shutdown did gets no GOAWAY from the HTTP/2
// server, and would hold the shutdown for its whole grace: closeIdle
// closes it once no stream of it is open, and leaves a busy one alone.
func TestAShutdownClosesTheHTTP2ConnectionsWithNoStreamOpen(t *testing.T) {
	var st Stats
	idleServer, idleClient := net.Pipe()
	busyServer, busyClient := net.Pipe()
	defer idleClient.Close()
	defer busyClient.Close()
	idle, idleMeter := st.meter(idleServer, true, 0)
	busy, busyMeter := st.meter(busyServer, true, 0)
	busyMeter.streams[1] = &h2Stream{t: &st.LongPoll}
	var cs h2Conns
	cs.add(idle, idleMeter)
	cs.add(busy, busyMeter)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go cs.closeIdle(ctx)
	_ = idleClient.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := idleClient.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the idle connection: %v, want it closed (EOF)", err)
	}
	cancel()
	_ = busyClient.SetReadDeadline(time.Now().Add(3 * h2IdleSweep))
	if _, err := busyClient.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the connection with a stream open: %v, want it left open", err)
	}
}
