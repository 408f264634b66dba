package transports_test

// The wire inspector with --compress: beside the compressed bytes, the size
// they decode to.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"fourway/transports/transportstest"
)

// decodedShown is what GET /api/inspect says of compressed chunks and
// frames.
type decodedShown struct {
	Transports map[string][]struct {
		Chunks []struct {
			Bytes   int64 `json:"bytes"`
			Decoded int64 `json:"decoded"`
		} `json:"chunks"`
		Frames *struct {
			Out, In []struct {
				Compressed bool  `json:"compressed"`
				Length     int64 `json:"length"`
				Decoded    int64 `json:"decoded"`
			}
		} `json:"frames"`
	} `json:"transports"`
}

// TestCompressInspectorShowsTheDecodedSize: a compressible message of
// about 8.8 KB, published with --compress, is shown by the inspector in
// an SSE chunk and a WebSocket frame each way (the server's, and the
// client's publish), each with the size it decodes to: exactly the bytes
// of the SSE event and of the WebSocket messages, decoded, and more than
// four times what crossed the socket.
func TestCompressInspectorShowsTheDecodedSize(t *testing.T) {
	transportstest.SkipOverTLS(t, "inspects bytes in the clear")
	srv := transportstest.Start(t, withCompress)
	inspect(t, srv)
	s := srv.OpenSSE(t, http.DefaultClient, "/api/sse?since=0") // net/http offers gzip, and decodes it
	s.Hello(t)
	var read atomic.Int64
	ws, _ := dialCounting(t, srv, true, &read)
	ws.SetReadDeadline(timeAfterWait())
	ws.ReadMessage() // the hello
	data := compressible()
	publish := `{"type":"publish","ref":"r1","data":` + data + `}`
	ws.EnableWriteCompression(true)
	if err := ws.WriteMessage(1, []byte(publish)); err != nil {
		t.Fatal(err)
	}
	ev, m := s.NextMessage(t)
	if string(m.Data) != data {
		t.Fatalf("SSE message of %d bytes, want %d", len(m.Data), len(data))
	}
	var message []byte
	for !strings.Contains(string(message), data) { // the ack may come first
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("WebSocket message: %v", err)
		}
		message = b
	}

	var last string
	defer func() {
		if t.Failed() {
			t.Log("last seen: " + last)
		}
	}()
	transportstest.WaitFor(t, "the decoded sizes in the inspector", transportstest.Wait, func() bool {
		_, body, _ := srv.Get(t, "/api/inspect")
		var in decodedShown
		if json.Unmarshal([]byte(body), &in) != nil || len(in.Transports["sse"]) != 1 || len(in.Transports["ws"]) != 1 {
			last = body
			return false
		}
		sse, conn := in.Transports["sse"][0], in.Transports["ws"][0]
		chunk := false
		for _, c := range sse.Chunks {
			chunk = chunk || c.Decoded == int64(len(ev.Raw)) && c.Bytes < c.Decoded/4
		}
		out, sent := false, false
		for _, f := range conn.Frames.Out {
			out = out || f.Compressed && f.Decoded == int64(len(message)) && f.Length < f.Decoded/4
		}
		for _, f := range conn.Frames.In {
			sent = sent || f.Compressed && f.Decoded == int64(len(publish)) && f.Length < f.Decoded/4
		}
		last = fmt.Sprintf("sse chunks %+v, want one decoding to the event's %d bytes; ws frames %+v, want one out decoding to %d, one in to %d",
			sse.Chunks, len(ev.Raw), *conn.Frames, len(message), len(publish))
		return chunk && out && sent
	})
}
