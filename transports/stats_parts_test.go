package transports_test

// The parts of a stream's bytes that /api/stats counts where they are
// written and read (CONTRACT.md, "Stats, health, metrics"): framing_in/out
// and heartbeats_in/out. Each test reads the raw bytes on a client socket,
// splits them by the rules CONTRACT.md gives, and holds the server's
// figures to exactly that.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"fourway/transports"
	"fourway/transports/transportstest"
)

// wireSplit is a stream's bytes, split as /api/stats splits them.
type wireSplit struct{ framingIn, framingOut, beatsIn, beatsOut int64 }

func (w wireSplit) String() string {
	return fmt.Sprintf("framing in %d out %d, heartbeats in %d out %d", w.framingIn, w.framingOut, w.beatsIn, w.beatsOut)
}

func countedSplit(before, after transports.Snapshot, transport string) wireSplit {
	a, b := before.Transports[transport], after.Transports[transport]
	return wireSplit{b.FramingIn - a.FramingIn, b.FramingOut - a.FramingOut, b.HeartbeatsIn - a.HeartbeatsIn, b.HeartbeatsOut - a.HeartbeatsOut}
}

// heartbeatText is a text frame CONTRACT.md counts as a heartbeat, whole.
func heartbeatText(payload []byte) bool {
	switch string(payload) {
	case "ping", "pong", `{"type":"ping"}`, `{"type":"pong"}`:
		return true
	}
	return false
}

// rawFrame is one WebSocket frame as it crossed the socket.
type rawFrame struct {
	opcode  byte
	header  int // bytes, mask key included
	payload []byte
}

// split adds f to w: its header is framing, unless it is a heartbeat, which
// counts whole.
func (f rawFrame) split(framing, beats *int64) {
	if f.opcode == 0x9 || f.opcode == 0xA || heartbeatText(f.payload) {
		*beats += int64(f.header + len(f.payload))
	} else {
		*framing += int64(f.header)
	}
}

// readRawFrame reads one frame of the server's (unmasked) from r.
func readRawFrame(r *bufio.Reader) (rawFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return rawFrame{}, err
	}
	f := rawFrame{opcode: h[0] & 0x0f, header: 2}
	n := int64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return f, err
		}
		n, f.header = int64(binary.BigEndian.Uint16(l[:])), 4
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return f, err
		}
		n, f.header = int64(binary.BigEndian.Uint64(l[:])), 10
	}
	if h[1]&0x80 != 0 {
		return f, fmt.Errorf("a server frame is masked: % x", h)
	}
	f.payload = make([]byte, n)
	_, err := io.ReadFull(r, f.payload)
	return f, err
}

// maskedFrame is a client's frame of payload, masked as RFC 6455 asks,
// and the size of its header.
func maskedFrame(opcode byte, payload []byte) (frame []byte, header int) {
	frame = []byte{0x80 | opcode}
	switch n := len(payload); {
	case n < 126:
		frame = append(frame, 0x80|byte(n))
	default:
		frame = append(frame, 0x80|126, byte(n>>8), byte(n))
	}
	var key [4]byte
	rand.Read(key[:])
	frame = append(frame, key[:]...)
	header = len(frame)
	for i, c := range payload {
		frame = append(frame, c^key[i%4])
	}
	return frame, header
}

// TestStatsCountWebSocketFramingAndHeartbeats: a client on a raw socket
// upgrades, answers the server's pings, pings it both ways (a ping frame,
// {"type":"ping"} and the text "ping"), publishes a small and a large
// message (a frame header of 2 and 4 bytes), and says goodbye. The server's
// framing and heartbeats, in and out, are exactly those of the frames that
// crossed the socket.
func TestStatsCountWebSocketFramingAndHeartbeats(t *testing.T) {
	transportstest.SkipOverTLS(t, "reads the frames on the socket")
	srv := transportstest.Start(t, func(c *transports.Config) { c.Heartbeat = 150 * time.Millisecond })
	before := srv.Stats(t)
	c := rawDial(t, srv)
	c.send(t, "GET /api/ws?since=0 HTTP/1.1\r\nHost: "+srv.Addr()+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if resp, _ := c.response(t); resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %d", resp.StatusCode)
	}
	var want wireSplit
	send := func(opcode byte, payload string) {
		t.Helper()
		frame, header := maskedFrame(opcode, []byte(payload))
		c.send(t, string(frame))
		rawFrame{opcode: opcode, header: header, payload: []byte(payload)}.split(&want.framingIn, &want.beatsIn)
	}
	pings, closing := 0, false
	read := func(until func(rawFrame) bool) {
		t.Helper()
		for {
			c.SetReadDeadline(time.Now().Add(transportstest.Wait))
			f, err := readRawFrame(c.r)
			if err != nil {
				t.Fatalf("reading frames: %v", err)
			}
			f.split(&want.framingOut, &want.beatsOut)
			if f.opcode == 0x9 && !closing { // after its close frame the server reads no more
				pings++
				send(0xA, string(f.payload)) // the pong a browser sends
			}
			if until(f) {
				return
			}
		}
	}
	read(func(f rawFrame) bool { return bytes.HasPrefix(f.payload, []byte(`{"type":"hello"`)) })
	read(func(rawFrame) bool { return pings >= 2 })
	send(0x9, "are you there")
	read(func(f rawFrame) bool { return f.opcode == 0xA && string(f.payload) == "are you there" })
	send(0x1, `{"type":"ping"}`)
	read(func(f rawFrame) bool { return string(f.payload) == `{"type":"pong"}` })
	send(0x1, "ping")
	read(func(f rawFrame) bool { return string(f.payload) == "pong" })
	send(0x1, `{"type":"publish","data":"small","ref":"a"}`)
	read(func(f rawFrame) bool { return bytes.Contains(f.payload, []byte(`"data":"small"`)) })
	large := strings.Repeat("x", 300)
	send(0x1, `{"type":"publish","data":"`+large+`","ref":"b"}`)
	read(func(f rawFrame) bool { return bytes.Contains(f.payload, []byte(large)) && f.header == 4 })
	send(0x8, "\x03\xe8bye") // 1000, and a reason
	closing = true
	read(func(f rawFrame) bool { return f.opcode == 0x8 })
	c.closedByServer(t)
	transportstest.Await(t, "the WebSocket gone", func() bool { return srv.Stats(t).Transports["ws"].Clients == 0 })
	if got := countedSplit(before, srv.Stats(t), "ws"); got != want {
		t.Errorf("/api/stats counted %v; the socket carried %v", got, want)
	}
	if want.beatsIn < int64(2*6+6+len("are you there")+6+15+6+4) || want.beatsOut < 2*2 {
		t.Errorf("the heartbeats the test meant to send and read are not all there: %v", want)
	}
}

// sseSplit splits the body of a chunked SSE response, as far as its
// chunks are whole, by CONTRACT.md's rules: chunk size lines and CRLFs are
// framing, but a chunk that begins an event with a comment (": ping") is a
// heartbeat, framing and all; in events, a comment event is a heartbeat,
// and of the others the values of data: lines are payload and the rest
// (field names, ids, newlines) framing. It returns the bytes it used.
func sseSplit(body []byte) (framing, beats int64, used int) {
	var events []byte // the events' bytes, chunks undone
	for {
		line := bytes.IndexByte(body[used:], '\n')
		if line < 0 {
			break
		}
		size, err := strconv.ParseInt(strings.TrimSpace(string(body[used:used+line])), 16, 64)
		if err != nil {
			panic(fmt.Sprintf("not a chunk size line: %q", body[used:used+line]))
		}
		end := used + line + 1 + int(size) + 2
		if size == 0 {
			end = used + line + 1 + 2 // no trailers
		}
		if end > len(body) {
			break
		}
		data := body[used+line+1 : used+line+1+int(size)]
		chunkFraming := int64(end - used - int(size))
		if (len(events) == 0 || bytes.HasSuffix(events, []byte("\n\n"))) && bytes.HasPrefix(data, []byte(":")) {
			beats += chunkFraming
		} else {
			framing += chunkFraming
		}
		events = append(events, data...)
		used = end
	}
	whole := bytes.LastIndex(events, []byte("\n\n"))
	if whole < 0 {
		return framing, beats, used
	}
	for ev := range strings.SplitSeq(string(events[:whole]), "\n\n") {
		if strings.HasPrefix(ev, ":") {
			beats += int64(len(ev) + 2)
			continue
		}
		framing += int64(len(ev) + 2)
		for line := range strings.SplitSeq(ev, "\n") {
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				framing -= int64(len(v))
			}
		}
	}
	return framing, beats, used
}

// TestStatsCountSSEFramingAndHeartbeats: on each writer, a client on a raw
// socket reads a stream with keepalives every 100 ms and three messages,
// one of them larger than net/http's chunk buffer (so the library's event
// spans chunks); the server's framing and heartbeats are exactly those of
// the bytes read, whenever the two agree on the bytes written.
func TestStatsCountSSEFramingAndHeartbeats(t *testing.T) {
	transportstest.SkipOverTLS(t, "reads the chunks on the socket")
	for _, writer := range []string{"r3labs", "direct"} {
		t.Run(writer, func(t *testing.T) {
			srv := transportstest.Start(t, func(c *transports.Config) {
				c.SSEKeepalive = 100 * time.Millisecond
				c.SSEWriter = writer
			})
			before := srv.Stats(t)
			c := rawDial(t, srv)
			c.send(t, "GET /api/sse?since=0 HTTP/1.1\r\nHost: "+srv.Addr()+"\r\n\r\n")
			var raw []byte
			var buf [64 << 10]byte
			var got, want wireSplit
			var head int
			agree := func(what string, more func() bool) {
				t.Helper()
				var out int64
				used := 0
				defer func() {
					if t.Failed() {
						t.Logf("last seen: %d bytes read, %d counted, %d of the body parsed; counted %v, read %v; the body: %q",
							len(raw), out, used, got, want, raw[min(head, len(raw)):])
					}
				}()
				transportstest.Await(t, what, func() bool {
					c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
					n, err := c.r.Read(buf[:])
					raw = append(raw, buf[:n]...)
					if err != nil && !isTimeout(err) {
						t.Fatalf("reading the stream: %v", err)
					}
					if head = bytes.Index(raw, []byte("\r\n\r\n")) + 4; head < 4 {
						return false
					}
					var framing, beats int64
					framing, beats, used = sseSplit(raw[head:])
					want = wireSplit{framingOut: framing, beatsOut: beats}
					after := srv.Stats(t)
					got = countedSplit(before, after, "sse")
					_, out = socketBytes(before, after, "sse")
					return out == int64(len(raw)) && used == len(raw)-head && got == want && more()
				})
			}
			agree("the hello and two keepalives", func() bool { return bytes.Count(raw, []byte(": ping\n\n")) >= 2 })
			srv.Publish(t, `"one"`)
			srv.Publish(t, `"`+strings.Repeat(":", 5000)+`"`) // its second chunk begins with a colon, inside the event
			srv.Publish(t, `"three"`)
			agree("the three messages and a keepalive after them", func() bool {
				i := bytes.Index(raw, []byte(`"three"`))
				return i > 0 && bytes.Contains(raw[i:], []byte(": ping\n\n"))
			})
			if got.framingIn != 0 || got.beatsIn != 0 {
				t.Errorf("a stream's client sends nothing after its request, yet %v", got)
			}
			if writer == "r3labs" && bytes.Count(raw[head:], []byte("\r\n")) < 2*8 {
				t.Errorf("fewer chunks than events: %q", raw[head:])
			}
			t.Logf("%s: %v in %d bytes", writer, got, len(raw))
		})
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
