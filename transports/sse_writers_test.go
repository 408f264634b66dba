package transports_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"fourway/transports/transportstest"
	"fourway/transports/wire"
)

// sseSpec names every test that opens SSE streams: the SSE specification,
// and the ones that hold all transports to the same promise.
const sseSpec = `^(TestSSE.*|TestEverySubscriberGetsEveryMessageOnAllFourTransports|TestCursorZeroIsToldWhatWasMissed|` +
	`TestARestartedServerIsAResetOnEveryTransport|TestShutdownDeliversEveryAcknowledgedMessage|` +
	`TestStuckSubscriberIsDroppedWithoutDelayingOthers|TestABurstDropsNoHealthySubscriber|TestDropThenResumeLosesNothing|` +
	`TestStatsCountBytesOnTheSocket|TestSSEWriterIsTheOneAsked|TestTheNodeIsNamedWhenSeveralServeTheFeed)$`

// TestSSESpecOnTheDirectWriter runs the SSE specification a second time,
// on --sse-writer direct (sse_direct.go): the same tests, in a second run
// of this test binary, so both writers keep every promise of the
// contract, byte for byte.
func TestSSESpecOnTheDirectWriter(t *testing.T) {
	if os.Getenv(transportstest.SSEWriterEnv) != "" || transportstest.OverTLS() {
		t.Skip("this is a second pass itself")
	}
	if testing.Short() {
		t.Skip("-short: the second pass of the SSE spec is skipped")
	}
	cmd := exec.Command(os.Args[0], "-test.run", sseSpec, "-test.count=1", "-test.v", "-test.timeout=8m")
	cmd.Env = append(os.Environ(), transportstest.SSEWriterEnv+"=direct")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the SSE spec failed on --sse-writer direct: %v\n%s", err, out)
	}
	passed := len(regexp.MustCompile(`(?m)^--- PASS: Test`).FindAll(out, -1))
	if want := 20; passed < want { // a pattern that stopped matching would pass vacuously
		t.Fatalf("only %d tests passed on --sse-writer direct, want at least %d:\n%s", passed, want, out)
	}
	t.Logf("%d tests of the SSE spec passed on --sse-writer direct", passed)
}

// TestSSEWriterIsTheOneAsked checks that a pass runs on the writer it
// means to, as GET /api/config names it.
func TestSSEWriterIsTheOneAsked(t *testing.T) {
	want := os.Getenv(transportstest.SSEWriterEnv)
	if want == "" {
		want = "r3labs"
	}
	ts := transportstest.Start(t, nil)
	_, body, _ := ts.Get(t, "/api/config")
	var cfg wire.Config
	if err := json.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if cfg.SSE.Writer != want {
		t.Fatalf("GET /api/config says the SSE writer is %q, want %q", cfg.SSE.Writer, want)
	}
}
