package fanout

import (
	"strings"
	"testing"

	"fourway/feed"
)

// The prepared-frame cache is bounded by the feed's history and by bytes:
// with --history 50 and 60 KB messages it held 96 to 208 MiB when its size
// was a fixed 1,024 frames.
func TestFrameCacheIsBoundedByHistoryAndBytes(t *testing.T) {
	data := []byte(`"` + strings.Repeat("x", 60_000) + `"`)
	for _, c := range []struct {
		history  int
		maxBytes int
	}{
		{50, 50 * (len(data) + 48 + 4)}, // 50 frames of about 60 KB: 3 MB
		{100_000, frameBytes},           // a long history: the byte bound
	} {
		fc := NewFrameCache(c.history)
		for id := uint64(1); id <= 2000; id++ {
			m := feed.Message{ID: id, JSON: feed.Encode(id, 1, data)}
			if f := fc.Frame(m); len(f) != len(m.JSON)+4 {
				t.Fatalf("frame %d: %d bytes, want the message and a 4-byte header", id, len(f))
			}
		}
		if held := fc.held(); held > c.maxBytes || held == 0 {
			t.Fatalf("history %d: the cache holds %d bytes after 2,000 messages of 60 KB, want 1 to %d", c.history, held, c.maxBytes)
		}
		if n := len(fc.slots); n > c.history {
			t.Fatalf("history %d: %d slots", c.history, n)
		}
	}
}

// A frame is encoded once: the second writer of a message gets the same bytes.
func TestFrameCacheHitsReturnTheSameFrame(t *testing.T) {
	fc := NewFrameCache(10)
	m := feed.Message{ID: 7, JSON: feed.Encode(7, 1, []byte(`"hi"`))}
	a, b := fc.Frame(m), fc.Frame(m)
	if &a[0] != &b[0] {
		t.Fatal("the same message was encoded twice")
	}
}

// Frames are RFC 6455's, unmasked: the three length forms, as gorilla
// reads them.
func TestAppendFrameLengths(t *testing.T) {
	for _, c := range []struct {
		n      int
		header string
	}{
		{0, "\x81\x00"}, {125, "\x81\x7d"}, {126, "\x81\x7e\x00\x7e"}, {65535, "\x81\x7e\xff\xff"},
		{65536, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"},
	} {
		f := AppendFrame(nil, OpText, make([]byte, c.n))
		if got := string(f[:len(f)-c.n]); got != c.header {
			t.Errorf("frame of %d bytes: header %q, want %q", c.n, got, c.header)
		}
	}
}
