package wiremeter

import (
	"math"
	"testing"
)

// TestFrameHeadersDecode: a header's size is known from its second byte,
// and its fields from the whole header, as RFC 6455 (section 5.2) lays
// them out.
func TestFrameHeadersDecode(t *testing.T) {
	for _, c := range []struct {
		name   string
		header string
		want   frameHeader
	}{
		{"a server's text frame", "\x81\x05", frameHeader{fin: true, opcode: 1, length: 5}},
		{"a client's ping", "\x89\x84\x01\x02\x03\x04", frameHeader{fin: true, opcode: wsPing, masked: true, length: 4, key: [4]byte{1, 2, 3, 4}}},
		{"a 16-bit length, not final", "\x02\x7e\x01\x00", frameHeader{opcode: 2, length: 256}},
		{"a 64-bit length", "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", frameHeader{fin: true, opcode: 1, length: 1 << 16}},
		{"a length with the top bit set", "\x81\xff\x80\x00\x00\x00\x00\x00\x00\x01\x0a\x0b\x0c\x0d", frameHeader{fin: true, opcode: 1, masked: true, length: math.MaxInt64, key: [4]byte{10, 11, 12, 13}}},
	} {
		h := []byte(c.header)
		if n := frameHeaderLen(h[1]); n != len(h) {
			t.Errorf("%s: frameHeaderLen %d, want %d", c.name, n, len(h))
			continue
		}
		if got := decodeFrameHeader(h); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestHeartbeatsAreOneRule: pings and pongs are heartbeats whatever they
// carry, and a data frame is one when its payload is exactly a heartbeat's.
func TestHeartbeatsAreOneRule(t *testing.T) {
	for _, c := range []struct {
		opcode  byte
		payload string
		want    bool
	}{
		{wsPing, "", true}, {wsPong, "anything", true},
		{1, "ping", true}, {1, "pong", true}, {1, `{"type":"ping"}`, true}, {1, `{"type":"pong"}`, true},
		{1, "ping ", false}, {1, `{"type":"hello"}`, false}, {1, "", false},
	} {
		if got := isHeartbeatFrame(c.opcode, []byte(c.payload)); got != c.want {
			t.Errorf("opcode %d, payload %q: heartbeat %v, want %v", c.opcode, c.payload, got, c.want)
		}
	}
}
