package load

import (
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
)

// With -compress a subscriber offers compression as a browser does: a
// WebSocket offers permessage-deflate (gorilla/websocket's client offers
// it without context takeover, the only kind it speaks), and every HTTP
// request says Accept-Encoding: gzip. The socket still counts the bytes as
// they travel, compressed; beside them the subscriber counts what they
// decode to (the meter's decoded): an HTTP answer's body after gzip, a
// WebSocket message after inflating. Without -compress nothing is offered
// and nothing is decoded: the requests are byte for byte those of before.

// acceptEncoding is what a subscriber offers with -compress.
const acceptEncoding = "gzip"

// noEncoding names an answer that came as it is, not encoded.
const noEncoding = "none"

// decodedBody is the body of resp as the application reads it: decoded as
// it arrives when it came gzip-encoded (an SSE event is read as soon as
// its bytes are in, not when a buffer fills: gzip's reader returns what
// each flushed block decodes to), and counted on decoded. It returns the
// encoding the body came in. An encoding that was not offered, or a body
// that does not decode, is an error asking again cannot change.
func decodedBody(resp *http.Response, offered bool, decoded *atomic.Int64) (io.Reader, string, error) {
	enc := resp.Header.Get("Content-Encoding")
	switch {
	case enc == "" || enc == "identity":
		if !offered {
			return resp.Body, noEncoding, nil
		}
		return &countingReader{r: resp.Body, n: decoded}, noEncoding, nil
	case enc == acceptEncoding && offered:
		return &countingReader{r: &gzipBody{src: resp.Body}, n: decoded}, enc, nil
	}
	offer := "nothing (no Accept-Encoding)"
	if offered {
		offer = "Accept-Encoding: " + acceptEncoding
	}
	return nil, enc, permanentError{fmt.Errorf("the answer came with Content-Encoding: %s, and the subscriber offered %s", enc, offer)}
}

// gzipBody decodes a gzip body as it reads it. Its header is read at the
// first Read, not before: a stream's headers arrive before its first
// event, and the subscriber is connected then.
type gzipBody struct {
	src io.Reader
	zr  *gzip.Reader
}

func (g *gzipBody) Read(p []byte) (int, error) {
	if g.zr == nil {
		zr, err := gzip.NewReader(g.src)
		if err != nil {
			return 0, decodeError(err)
		}
		g.zr = zr
	}
	n, err := g.zr.Read(p)
	return n, decodeError(err)
}

// decodeError makes an error of gzip's own (a bad header, a bad checksum,
// deflate data that does not decode) permanent, saying so; any other
// error, the connection's, is returned as it is.
func decodeError(err error) error {
	var corrupt flate.CorruptInputError
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &corrupt) {
		return permanentError{fmt.Errorf("the gzip body does not decode: %w", err)}
	}
	return err
}

// countingReader adds the bytes read through it to n.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
