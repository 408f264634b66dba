package wiremeter

// A WebSocket frame's header, decoded once for everyone here who reads
// frames off the socket: the frame follower (parts.go) and the wire
// inspector (inspect.go). The server's frames are written by transports'
// own writers; this only reads.

import "math"

// The opcodes of WebSocket's control frames that are heartbeats (RFC 6455,
// section 5.5).
const (
	wsPing = 0x9
	wsPong = 0xA
)

// frameHeader is a WebSocket frame's header (RFC 6455, section 5.2): 2
// bytes, then 2 or 8 more of payload length, then 4 of mask key when the
// frame is masked (a client's always are).
type frameHeader struct {
	fin    bool
	opcode byte
	masked bool
	length int64 // of the payload
	key    [4]byte
}

// frameHeaderLen is the size of a header whose second byte is b1.
func frameHeaderLen(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// decodeFrameHeader decodes h, a whole header (frameHeaderLen(h[1])
// bytes). A 64-bit length with its top bit set, which RFC 6455 forbids
// and gorilla refuses, is read as math.MaxInt64: all that follows is that
// frame's.
func decodeFrameHeader(h []byte) frameHeader {
	f := frameHeader{fin: h[0]&0x80 != 0, opcode: h[0] & 0x0f, masked: h[1]&0x80 != 0}
	switch l := int64(h[1] & 0x7f); l {
	case 126:
		f.length = int64(h[2])<<8 | int64(h[3])
	case 127:
		for _, c := range h[2:10] {
			f.length = f.length<<8 | int64(c)
		}
		if f.length < 0 {
			f.length = math.MaxInt64
		}
	default:
		f.length = l
	}
	if f.masked {
		copy(f.key[:], h[len(h)-4:])
	}
	return f
}

// IsHeartbeat reports whether a text frame's payload is a heartbeat: the
// text ping or pong, or the JSON ones, exactly. It is the one rule the
// server's writers, the frame follower and the wire inspector count by.
func IsHeartbeat(payload []byte) bool {
	switch string(payload) {
	case "ping", "pong", `{"type":"ping"}`, `{"type":"pong"}`:
		return true
	}
	return false
}

// isHeartbeatFrame reports whether a frame is a heartbeat, header and
// all: a ping or a pong, or a frame whose payload IsHeartbeat.
func isHeartbeatFrame(opcode byte, payload []byte) bool {
	return opcode == wsPing || opcode == wsPong || IsHeartbeat(payload)
}
