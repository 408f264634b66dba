package load

import (
	"bytes"
	"strconv"
)

// The publisher's data is {"seq":N,"t":T,"pad":"..."}: seq numbers the
// publishes of a run from 0 (the ids every subscriber is checked against)
// and t is the intended send time in mono nanoseconds.

var (
	seqKey = []byte(`{"seq":`)
	tKey   = []byte(`,"t":`)
)

// stampData returns the publisher's data for seq, padded to size bytes.
func stampData(seq, t int64, size int) []byte {
	b := make([]byte, 0, max(size, 64))
	b = append(b, seqKey...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, tKey...)
	b = strconv.AppendInt(b, t, 10)
	b = append(b, `,"pad":"`...)
	for n := size - len(b) - 2; n > 0; n-- {
		b = append(b, 'x')
	}
	return append(b, '"', '}')
}

// parseStamp finds seq and t in a message: the data object itself (Nchan)
// or a fourway message wrapping it.
func parseStamp(b []byte) (seq, t int64, ok bool) {
	i := bytes.Index(b, seqKey)
	if i < 0 {
		return 0, 0, false
	}
	seq, rest, ok1 := parseInt(b[i+len(seqKey):])
	if !ok1 || !bytes.HasPrefix(rest, tKey) {
		return 0, 0, false
	}
	t, _, ok2 := parseInt(rest[len(tKey):])
	return seq, t, ok2 && seq >= 0
}

// parseInt reads the decimal digits b starts with, and returns the rest.
func parseInt(b []byte) (int64, []byte, bool) {
	var n int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int64(b[i]-'0')
	}
	return n, b[i:], i > 0
}
