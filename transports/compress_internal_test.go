package transports

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

// Two SSE streams that write the same event share its compressed bytes:
// the second takes them from the cache, and each stream still decodes to
// its own bytes, checksum and all.
func TestGzipStreamsShareTheEventsCompressedOnce(t *testing.T) {
	var cache deflateCache
	event := []byte("id: e:7\ndata: {\"id\":7,\"data\":\"the same for every stream, the same for every stream\"}\n\n")
	var out [2][]byte
	for i := range out {
		z := gzipStream{cache: &cache}
		z.write([]byte("event: hello " + string(rune('a'+i)) + "\n\n"))
		out[i] = z.appendFlush(nil)
		z.write(event)
		out[i] = z.appendEnd(out[i])
	}
	if cache.next != 3 { // two hellos and one message
		t.Errorf("%d pieces compressed, want 3: the event once", cache.next)
	}
	for i, b := range out {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if want := "event: hello " + string(rune('a'+i)) + "\n\n" + string(event); err != nil || string(got) != want {
			t.Errorf("stream %d decodes to %q (%v), want %q", i, got, err, want)
		}
	}
}
