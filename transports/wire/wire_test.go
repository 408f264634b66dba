package wire

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestSSEReaderSplitsTheStreamIntoBlocks(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than the reader's buffer
	raws := []string{
		"id: E:41\ndata: {\"next\":41}\nevent: hello\nretry: 2000\n\n",
		": ping\n\n",
		"id: E:42\r\ndata: " + long + "\r\n\r\n",
		"data: two\ndata: lines\n\n",
		"id:\ndata:\n\n",
	}
	stream := strings.Join(raws, "")
	want := []Event{
		{ID: "E:41", HasID: true, Event: "hello", Data: []byte(`{"next":41}`), Retry: "2000"},
		{Comment: "ping"},
		{ID: "E:42", HasID: true, Data: []byte(long)},
		{Data: []byte("two\nlines")},
		{HasID: true, Data: []byte{}},
	}
	r := NewSSEReader(strings.NewReader(stream))
	for i, w := range want {
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if ev.ID != w.ID || ev.HasID != w.HasID || ev.Event != w.Event || ev.Retry != w.Retry || ev.Comment != w.Comment ||
			string(ev.Data) != string(w.Data) || (ev.Data == nil) != (w.Data == nil) {
			t.Errorf("block %d: %+.80v, want %+.80v", i, ev, w)
		}
		if string(ev.Raw) != raws[i] {
			t.Errorf("block %d: raw %.80q, want %.80q", i, ev.Raw, raws[i])
		}
		if ev.IsComment() != (i == 1) {
			t.Errorf("block %d: IsComment %v", i, ev.IsComment())
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last block: %v, want io.EOF", err)
	}
}

func TestSSEReaderReportsAStreamCutInsideABlock(t *testing.T) {
	r := NewSSEReader(strings.NewReader("id: E:1\ndata: {\"id\":1"))
	if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestSSEReaderReusesItsBuffersAndCloneKeepsThem(t *testing.T) {
	r := NewSSEReader(strings.NewReader("data: one\n\ndata: two\n\n"))
	first, _ := r.Next()
	kept := first.Clone()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if string(kept.Data) != "one" || string(kept.Raw) != "data: one\n\n" {
		t.Fatalf("the clone changed: %q %q", kept.Data, kept.Raw)
	}
}

func TestDecodeSSEHello(t *testing.T) {
	for _, c := range []struct {
		ev Event
		ok bool
	}{
		{Event{Event: "hello", ID: "E:4", Data: []byte(`{"next":4,"epoch":"E","retry_ms":2000,"keepalive_ms":15000,"proto":"HTTP/1.1"}`)}, true},
		{Event{Event: "hello", ID: "E:0", Data: []byte(`{"next":0,"epoch":"E"}`)}, true},
		{Event{Event: "hello", ID: "E:0", Data: []byte(`{"epoch":"E"}`)}, false}, // no next
		{Event{Event: "hello", ID: "E:4", Data: []byte(`{"next":4}`)}, false},    // no epoch
		{Event{Event: "hello", ID: "E:5", Data: []byte(`{"next":4,"epoch":"E"}`)}, false},
		{Event{Event: "hello", ID: "F:4", Data: []byte(`{"next":4,"epoch":"E"}`)}, false},
		{Event{ID: "E:4", Data: []byte(`{"next":4,"epoch":"E"}`)}, false}, // not named hello
	} {
		h, err := DecodeSSEHello(c.ev)
		if (err == nil) != c.ok {
			t.Errorf("%s: %+v %v, want ok %v", c.ev.Data, h, err, c.ok)
		}
	}
}

func TestDecodeHello(t *testing.T) {
	h, err := DecodeHello([]byte(`{"type":"hello","next":0,"epoch":"E","heartbeat_ms":25000}`))
	if err != nil || h.Next != 0 || h.Epoch != "E" || h.HeartbeatMS != 25000 {
		t.Fatalf("%+v %v", h, err)
	}
	for _, b := range []string{`{"type":"hello","epoch":"E"}`, `{"type":"hello","next":1}`, `{"type":"reset","next":1,"epoch":"E"}`, `hello`} {
		if _, err := DecodeHello([]byte(b)); err == nil {
			t.Errorf("%s: decoded as a hello", b)
		}
	}
}

func TestRetryIn(t *testing.T) {
	for _, tc := range []struct {
		reason string
		want   int
		ok     bool
	}{
		{"the server is at its connection limit; retry in 7 s", 7, true},
		{"the server is at its connection limit; retry in 10 s", 10, true},
		{"the server is at its connection limit", 0, false},
		{"the server is at its connection limit; retry in  s", 0, false},
		{"the server is at its connection limit; retry in -7 s", 0, false},
		{"the server is at its connection limit; retry in 7 ms", 0, false},
		{"the server is at its connection limit; retry in 7 s, or not", 0, false},
		{"", 0, false},
	} {
		if got, ok := RetryIn(tc.reason); got != tc.want || ok != tc.ok {
			t.Errorf("RetryIn(%q) = %d, %v; want %d, %v", tc.reason, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMessageID(t *testing.T) {
	for _, c := range []struct {
		msg string
		id  uint64
		ok  bool
	}{
		{`{"id":42,"time":1.5,"data":"hi"}`, 42, true},
		{`{"id":7}`, 7, true},
		{`{"id":42x`, 0, false},
		{`{"id":`, 0, false},
		{`{"type":"hello","next":1}`, 0, false},
		{` {"id":1,`, 0, false},
	} {
		if id, ok := MessageID([]byte(c.msg)); ok != c.ok || (ok && id != c.id) {
			t.Errorf("%s: %d %v, want %d %v", c.msg, id, ok, c.id, c.ok)
		}
	}
}

func TestParseEventID(t *testing.T) {
	if e, n, err := ParseEventID("k3x9AbCd:18446744073709551615"); err != nil || e != "k3x9AbCd" || n != 1<<64-1 {
		t.Fatalf("%q %d %v", e, n, err)
	}
	for _, id := range []string{"42", ":42", "E:", "E:4a", "E:-1", "E:18446744073709551616", ""} {
		if _, _, err := ParseEventID(id); err == nil {
			t.Errorf("%q parsed as epoch:cursor", id)
		}
	}
}

func TestQuery(t *testing.T) {
	if q := Query(0, ""); q != "since=0" {
		t.Errorf("Query(0, \"\") = %q", q)
	}
	if q := Query(42, "k3x9-Ab_C"); q != "since=42&epoch=k3x9-Ab_C" {
		t.Errorf("Query(42, E) = %q", q)
	}
}
