package load

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"math"
	"testing"

	"fourway/bench/plan"
)

// TestPayloadKinds: every message of a kind is its size, JSON, stamped,
// the same for the same seq and different for another, and compresses
// under gzip -6 as payload.go says.
func TestPayloadKinds(t *testing.T) {
	ratios := map[string]float64{"json256": 0.82, "json4k": 0.25, "text32k": 0.40} // payload.go's table
	for _, k := range plan.PayloadKinds {
		var raw, packed int
		for seq := range int64(100) {
			data := payloadData(k.Name, seq, 1e12+seq, k.Bytes)
			if len(data) != k.Bytes || !json.Valid(data) {
				t.Fatalf("%s seq %d: %d bytes, JSON %v, want %d bytes of JSON: %s", k.Name, seq, len(data), json.Valid(data), k.Bytes, data)
			}
			if s, ts, ok := parseStamp(data); !ok || s != seq || ts != 1e12+seq {
				t.Errorf("%s seq %d: parseStamp = %d, %d, %v", k.Name, seq, s, ts, ok)
			}
			if !bytes.Equal(data, payloadData(k.Name, seq, 1e12+seq, k.Bytes)) {
				t.Errorf("%s seq %d: made twice, two different messages", k.Name, seq)
			}
			if seq > 0 && bytes.Equal(data[20:], payloadData(k.Name, seq-1, 1e12+seq, k.Bytes)[20:]) {
				t.Errorf("%s seq %d: the same content as seq %d", k.Name, seq, seq-1)
			}
			var z bytes.Buffer
			w, _ := gzip.NewWriterLevel(&z, 6)
			w.Write(data)
			w.Close()
			raw, packed = raw+len(data), packed+z.Len()
		}
		got := float64(packed) / float64(raw)
		t.Logf("%s: gzip -6 makes %d bytes of %d, %.1f %%", k.Name, packed, raw, 100*got)
		if math.Abs(got-ratios[k.Name]) > 0.015 {
			t.Errorf("%s: gzip -6 makes it %.1f %% of its size, payload.go says about %.0f %%", k.Name, 100*got, 100*ratios[k.Name])
		}
	}
}
