package transports_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"regexp"
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
	if transportstest.OverTLS() {
		return // the direct writer serves HTTP/1.1 in the clear only
	}
	// A held poll, then another request on its connection: the direct
	// writer held the one and handed the connection back for the other.
	conn, br := heldThenAnswered(t, ts)
	defer conn.Close()
	fmt.Fprint(conn, "GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/config after a held poll: %v %v", resp, err)
	}
	_, metrics, _ := ts.Get(t, "/metrics")
	got := regexp.MustCompile(`(?m)^fourway_longpoll_direct_total\{what="(\w+)"\} (\d+)$`).FindAllStringSubmatch(metrics, -1)
	counts := map[string]string{}
	for _, m := range got {
		counts[m[1]] = m[2]
	}
	wantCounts := map[string]string{"held": "1", "taken": "1", "handed_back": "1"}
	if want == "nethttp" {
		wantCounts = map[string]string{}
	}
	if !maps.Equal(counts, wantCounts) {
		t.Fatalf("fourway_longpoll_direct_total %v, want %v", counts, wantCounts)
	}
}
