package transports_test

import (
	"encoding/json"
	"os"
	"testing"

	"fourway/transports/transportstest"
	"fourway/transports/wire"
)

// longPollSpec names every test that holds long polls: the long-poll and
// poll specifications, and the ones that hold all transports to the same
// promise.
const longPollSpec = `^(TestLongPoll.*|TestPoll.*|TestEverySubscriberGetsEveryMessageOnAllFourTransports|TestCursorZeroIsToldWhatWasMissed|` +
	`TestARestartedServerIsAResetOnEveryTransport|TestShutdownDeliversEveryAcknowledgedMessage|` +
	`TestStuckSubscriberIsDroppedWithoutDelayingOthers|TestABurstDropsNoHealthySubscriber|TestDropThenResumeLosesNothing|` +
	`TestStatsCountBytesOnTheSocket|TestAPIAnswersCarryOnlyTheHeadersAnAPINeeds|TestANodeCutFromItsBrokerSendsItsClientsElsewhere|` +
	`TestTheNodeIsNamedWhenSeveralServeTheFeed|TestInspector.*|TestLongPollWriterIsTheOneAsked|TestAShutdownEndsALongPollConnectionIdleAfterItsAnswer)$`

// TestLongPollSpecOnTheDirectWriter runs the long-poll specification a
// second time, on --longpoll-writer direct (longpoll_direct.go), so both
// writers keep every promise of the contract.
func TestLongPollSpecOnTheDirectWriter(t *testing.T) {
	if os.Getenv(transportstest.LongPollWriterEnv) != "" {
		t.Skip("this is the second pass itself")
	}
	secondPass(t, "on --longpoll-writer direct", transportstest.LongPollWriterEnv+"=direct", longPollSpec, 20)
}

// TestLongPollWriterIsTheOneAsked checks that a pass runs on the writer
// it means to.
func TestLongPollWriterIsTheOneAsked(t *testing.T) {
	want := os.Getenv(transportstest.LongPollWriterEnv)
	if want == "" {
		want = "nethttp"
	}
	ts := transportstest.Start(t, nil)
	if got := ts.Config.LongPollWriter; got != want {
		t.Fatalf("the server holds its long polls with %q, want %q", got, want)
	}
	_, body, _ := ts.Get(t, "/api/config")
	var c wire.Config
	if err := json.Unmarshal([]byte(body), &c); err != nil || c.LongPoll.Writer != want {
		t.Fatalf("GET /api/config names the long-poll writer %q (%v), want %q: %s", c.LongPoll.Writer, err, want, body)
	}
}
