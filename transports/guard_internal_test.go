package transports

import "testing"

// TestTokenMatchesOnlyTheToken: a token matches itself alone, whatever the
// length of the one given. (That the time it takes tells nothing of the
// token's length holds by construction: tokenMatches compares two SHA-256
// digests, always 32 bytes, with subtle.ConstantTimeCompare.)
func TestTokenMatchesOnlyTheToken(t *testing.T) {
	const token = "s3cret-token"
	for _, c := range []struct {
		got  string
		want bool
	}{
		{token, true},
		{"s3cret-tokeN", false},              // the same length
		{"s3cret", false},                    // a prefix
		{token + "x", false},                 // longer
		{"", false},                          // none
		{token + "\x00", false},              // a NUL is a byte like any other
		{"S3CRET-TOKEN", false},              // case counts
		{string(make([]byte, 1<<16)), false}, // far longer
	} {
		if got := tokenMatches(c.got, token); got != c.want {
			t.Errorf("tokenMatches(%.20q, %q) = %v, want %v", c.got, token, got, c.want)
		}
	}
	if !tokenMatches("", "") {
		t.Error(`tokenMatches("", "") = false, want true (an unset token is not asked for: the callers check that first)`)
	}
}
