package transports_test

import (
	"os"
	"testing"

	"fourway/transports/transportstest"
)

// longPollSpec names every test that holds long polls: the long-poll and
// poll specifications, and the ones that hold all transports to the same
// promise.
const longPollSpec = `^(TestLongPoll.*|TestPoll.*|TestEverySubscriberGetsEveryMessageOnAllFourTransports|TestCursorZeroIsToldWhatWasMissed|` +
	`TestARestartedServerIsAResetOnEveryTransport|TestShutdownDeliversEveryAcknowledgedMessage|` +
	`TestStuckSubscriberIsDroppedWithoutDelayingOthers|TestABurstDropsNoHealthySubscriber|TestDropThenResumeLosesNothing|` +
	`TestStatsCountBytesOnTheSocket|TestAPIAnswersCarryOnlyTheHeadersAnAPINeeds|TestANodeCutFromItsBrokerSendsItsClientsElsewhere|` +
	`TestTheNodeIsNamedWhenSeveralServeTheFeed|TestInspector.*|TestLongPollWriterIsTheOneAsked)$`

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
	if got := transportstest.Start(t, nil).Config.LongPollWriter; got != want {
		t.Fatalf("the server holds its long polls with %q, want %q", got, want)
	}
}
