package transports

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

// Two SSE streams that write the same event share its compressed bytes:
// the second takes them from the cache, and each stream still decodes to
// its own bytes, checksum and all.
func TestGzipStreamsShareTheEventsCompressedOnce(t *testing.T) {
	cache := newDeflateCache(DefaultConfig().MaxMessage)
	event := []byte("id: e:7\ndata: {\"id\":7,\"data\":\"the same for every stream, the same for every stream\"}\n\n")
	var out [2][]byte
	for i := range out {
		z := gzipStream{cache: cache}
		z.write([]byte("event: hello " + string(rune('a'+i)) + "\n\n"))
		out[i] = z.appendFlush(nil)
		z.write(event)
		out[i] = z.appendEnd(out[i])
	}
	if n := cache.compressed.Load(); n != 3 { // two hellos and one message
		t.Errorf("%d pieces compressed, want 3: the event once", n)
	}
	for i, b := range out {
		if got, want := gunzipAll(t, b), "event: hello "+string(rune('a'+i))+"\n\n"+string(event); got != want {
			t.Errorf("stream %d decodes to %q, want %q", i, got, want)
		}
	}
}

// sseEvent is the event of message id as the SSE library writes it, its
// data a JSON string of size bytes, text that compresses as text does.
func sseEvent(id, size int) []byte {
	text := fmt.Sprintf("message %d, the same for every stream; ", id)
	data := strings.Repeat(text, size/len(text)+1)[:size-2]
	return fmt.Appendf(nil, "id: e:%d\ndata: {\"id\":%d,\"data\":\"%s\"}\n\n", id, id, data)
}

// Streams that write the same events, at the same time, compress each
// event once, whatever its size up to --max-message: a large event too
// (a 32 KiB event was compressed once per stream, when the cache kept
// events up to 16 KiB only).
func TestGzipStreamsCompressAnEventOnceWhateverItsSize(t *testing.T) {
	const streams = 8
	maxMessage := DefaultConfig().MaxMessage
	sizes := []int{100, 16<<10 + 1, 32 << 10, maxMessage}
	cache := newDeflateCache(maxMessage)
	var events [][]byte
	for i, size := range sizes {
		events = append(events, sseEvent(i+1, size))
	}
	out := make([][]byte, streams)
	var wg sync.WaitGroup
	for s := range out {
		wg.Go(func() {
			z := gzipStream{cache: cache}
			for _, ev := range events {
				z.write(ev)
				out[s] = z.appendFlush(out[s])
			}
			out[s] = z.appendEnd(out[s])
		})
	}
	wg.Wait()
	if n := cache.compressed.Load(); n != int64(len(events)) {
		t.Errorf("%d streams writing %d events (data of %v bytes) compressed %d of them, want each once: %d", streams, len(events), sizes, n, len(events))
	}
	want := string(bytes.Join(events, nil))
	for s, b := range out {
		if got := gunzipAll(t, b); got != want {
			t.Errorf("stream %d decodes to %d bytes, want the %d written", s, len(got), len(want))
		}
	}
}

// The cache holds no more than its budget, however many large events pass
// through it, and keeps the newest.
func TestDeflateCacheStaysWithinItsBudget(t *testing.T) {
	maxMessage := DefaultConfig().MaxMessage
	cache := newDeflateCache(maxMessage)
	var z gzipStream
	z.cache = cache
	var last []byte
	for id := range 100 {
		last = sseEvent(id, maxMessage)
		z.write(last)
		z.appendFlush(nil)
		if cache.held > cache.budget {
			t.Fatalf("after event %d the cache holds %d bytes, its budget is %d", id, cache.held, cache.budget)
		}
	}
	t.Logf("%d bytes held of a budget of %d", cache.held, cache.budget)
	before := cache.compressed.Load()
	z.write(last)
	z.appendFlush(nil)
	if cache.compressed.Load() != before {
		t.Errorf("the newest event was compressed again: it was not kept")
	}
}

// gunzipAll decodes b, a whole gzip member.
func gunzipAll(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(got)
}

// A compressed stream holds no buffer between events: an idle stream does
// not keep the largest event it wrote (it kept 40 KiB after a 32 KiB
// event, and its writer the compressed bytes besides).
func TestGzipStreamHoldsNoBufferBetweenEvents(t *testing.T) {
	z := gzipStream{cache: newDeflateCache(DefaultConfig().MaxMessage)}
	event := sseEvent(1, 32<<10)
	z.write(event[:10])
	z.write(event[10:])
	b := z.appendFlush(nil)
	if z.pending != nil {
		t.Errorf("after its flush the stream holds a buffer of %d bytes, want none", cap(*z.pending))
	}
	if got := gunzipAll(t, z.appendEnd(b)); got != string(event) {
		t.Errorf("the stream decodes to %d bytes, want the %d written", len(got), len(event))
	}
}
