package load

import (
	"encoding/json"
	"testing"
)

func TestStampRoundTrip(t *testing.T) {
	for _, size := range []int{1, 40, 100, 1000} {
		data := stampData(1234, 987654321, size)
		if size >= 40 && len(data) != size {
			t.Errorf("stampData(size %d) is %d bytes", size, len(data))
		}
		if !json.Valid(data) {
			t.Errorf("stampData(size %d) is not JSON: %s", size, data)
		}
		msg := []byte(`{"id":7,"time":1763773323456.789,"data":` + string(data) + `}`)
		for _, b := range [][]byte{data, msg} {
			seq, ts, ok := parseStamp(b)
			if !ok || seq != 1234 || ts != 987654321 {
				t.Errorf("parseStamp(%s) = %d, %d, %v", b, seq, ts, ok)
			}
		}
	}
	if _, _, ok := parseStamp([]byte(`{"primer":true}`)); ok {
		t.Error("the primer parsed as a stamped message")
	}
}
