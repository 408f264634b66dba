package transports

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
		{50, 50 * (2*(len(data)+48) + 16)}, // 50 frames of about 120 KB: 6 MB
		{100_000, frameBytes},              // a long history: the byte bound
	} {
		h := newWSHub(nil, c.history)
		for id := uint64(1); id <= 2000; id++ {
			m := feed.Message{ID: id, JSON: feed.Encode(id, 1, data)}
			pm, err := h.frames.frame(m)
			if err != nil || pm == nil {
				t.Fatalf("frame %d: %v", id, err)
			}
		}
		if held := h.frames.held(); held > c.maxBytes || held == 0 {
			t.Fatalf("history %d: the cache holds %d bytes after 2,000 messages of 60 KB, want 1 to %d", c.history, held, c.maxBytes)
		}
		if n := len(h.frames.slots); n > c.history {
			t.Fatalf("history %d: %d slots", c.history, n)
		}
	}
}

// A frame is prepared once: the second writer of a message gets the same one.
func TestFrameCacheHitsReturnTheSameFrame(t *testing.T) {
	h := newWSHub(nil, 10)
	m := feed.Message{ID: 7, JSON: feed.Encode(7, 1, []byte(`"hi"`))}
	a, _ := h.frames.frame(m)
	b, _ := h.frames.frame(m)
	if a != b {
		t.Fatal("the same message was prepared twice")
	}
}
