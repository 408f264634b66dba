package transports_test

import (
	"encoding/json"
	"os"
	"testing"

	"fourway/transports/transportstest"
	"fourway/transports/wire"
)

// sseSpec names every test that opens SSE streams: the SSE specification,
// and the ones that hold all transports to the same promise.
const sseSpec = `^(TestSSE.*|TestEverySubscriberGetsEveryMessageOnAllFourTransports|TestCursorZeroIsToldWhatWasMissed|` +
	`TestARestartedServerIsAResetOnEveryTransport|TestShutdownDeliversEveryAcknowledgedMessage|` +
	`TestStuckSubscriberIsDroppedWithoutDelayingOthers|TestAStalledReaderOnAQuietFeedIsDroppedAtTheSendTimeout|TestABurstDropsNoHealthySubscriber|TestDropThenResumeLosesNothing|` +
	`TestStatsCountBytesOnTheSocket|TestSSEWriterIsTheOneAsked|TestTheNodeIsNamedWhenSeveralServeTheFeed)$`

// TestSSESpecOnTheDirectWriter runs the SSE specification a second time,
// on --sse-writer direct (package direct), so both writers keep every
// promise of the contract, byte for byte.
func TestSSESpecOnTheDirectWriter(t *testing.T) {
	secondPass(t, "on --sse-writer direct", transportstest.SSEWriterEnv+"=direct", sseSpec, 20)
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
