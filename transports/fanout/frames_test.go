package fanout

import (
	"bytes"
	"compress/flate"
	"io"
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

// A compressed frame is permessage-deflate's with no context takeover: RSV1
// set, a payload that inflates (with the 4 bytes the sender took off put
// back) to the message; made once for every connection; and a message too
// short to gain from it goes plain.
func TestDeflatedFrameIsCompressedOnceAndInflatesToTheMessage(t *testing.T) {
	fc := NewFrameCache(10)
	data := []byte(`"` + strings.Repeat("the same words again and again, ", 270) + `"`)
	m := feed.Message{ID: 3, JSON: feed.Encode(3, 1, data)}
	a, b := fc.DeflatedFrame(m), fc.DeflatedFrame(m)
	if &a[0] != &b[0] {
		t.Fatal("the same message was compressed twice")
	}
	if !IsDeflated(a) || a[0]&0x0f != OpText || a[0]&0x80 == 0 {
		t.Fatalf("frame starts %#x, want FIN, RSV1 and text", a[0])
	}
	payload := a[HeaderLen(a):]
	got, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(payload), strings.NewReader("\x00\x00\xff\xff\x01\x00\x00\xff\xff"))))
	if err != nil || !bytes.Equal(got, m.JSON) {
		t.Fatalf("inflated to %d bytes (%v), want the message's %d", len(got), err, len(m.JSON))
	}
	t.Logf("%d bytes of message in a frame of %d", len(m.JSON), len(a))
	if len(a) >= len(m.JSON)/4 {
		t.Errorf("a repetitive message of %d bytes compressed to %d", len(m.JSON), len(a))
	}
	if held := fc.held(); held != len(fc.Frame(m))+len(a) {
		t.Errorf("the cache holds %d bytes, want both frames' %d", held, len(fc.Frame(m))+len(a))
	}

	short := feed.Message{ID: 4, JSON: feed.Encode(4, 1, []byte(`"hi"`))}
	if f := fc.DeflatedFrame(short); IsDeflated(f) || !bytes.Equal(f, fc.Frame(short)) {
		t.Errorf("a %d-byte message went compressed (%d bytes): want the plain frame", len(short.JSON), len(f))
	}
}
