package deploy

// One feed on many nodes: fourway nodes, the real binary (fourway_test.go),
// each with --nats on one embedded 3-node JetStream cluster and an R3
// stream. A subscriber of any transport may read from any node with its
// cursor and epoch, and gets every message once, in order, with the same
// bytes. Faults are made for real: a NATS server is stopped, the stream is
// deleted and created again, a node's link to NATS is cut.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go/jetstream"

	"fourway/feed/natstest"
	"fourway/transports"
	"fourway/transports/wire"
)

// clusterWait bounds a follower's whole read in these tests.
const clusterWait = 60 * time.Second

var transportNames = []string{"poll", "longpoll", "sse", "ws"}

// startNode runs a fourway node on the cluster's stream (CLUSTER, R3).
func startNode(t testing.TB, natsURLs, name string, args ...string) *fourway {
	t.Helper()
	all := append([]string{"--nats", natsURLs, "--nats-stream", "CLUSTER", "--nats-replicas", "3", "--node", name}, args...)
	return startFourway(t, all...)
}

// follower reads the feed as one client of one transport does, keeping its
// cursor and epoch from one connection, and one node, to the next.
type follower struct {
	transport string
	epoch     string
	cursor    uint64
	got       [][]byte // every message, in the order it came
	resets    int
	missed    uint64
	log       []string // what happened, for a failure's message
	// needEpoch, if set, is the epoch the follower must reach as well.
	needEpoch string
	hold      string // a long poll's ?timeout=, in seconds ("" is 5)
	// goodbyes are the goodbyes of nodes that ended a stream or a held
	// poll of this follower, in its transport's words: "close 1012 why",
	// "end why now", "503 why".
	goodbyes []string
}

// errGoodbye is a read that a node ended with a goodbye.
var errGoodbye = errors.New("the node said goodbye")

// nodeLostFeed is the goodbye of a node cut from NATS (transports/health.go).
const nodeLostFeed = "this node cannot reach the feed: reconnect now, to another node, with your cursor"

// holds reports whether f has read up to id until (of needEpoch, if set).
func (f *follower) holds(until uint64) bool {
	return f.cursor >= until && (f.needEpoch == "" || f.epoch == f.needEpoch)
}

// page applies a poll answer.
func (f *follower) page(p wire.Page) {
	if p.Reset {
		f.resets++
		f.log = append(f.log, "reset to "+p.Epoch)
	}
	f.missed += p.Missed
	f.epoch = p.Epoch
	for _, m := range p.Messages {
		f.got = append(f.got, m)
	}
	f.cursor = p.Next
}

// message applies one message of a stream.
func (f *follower) message(b []byte) error {
	id, ok := wire.MessageID(b)
	if !ok {
		return fmt.Errorf("%s: not a message: %.80q", f.transport, b)
	}
	f.got = append(f.got, bytes.Clone(b))
	f.cursor = id
	return nil
}

// read reads from the node at base until it holds id until, or ctx ends, or
// the node goes away (an error: the caller decides where to go next).
func (f *follower) read(ctx context.Context, base string, until uint64) error {
	switch f.transport {
	case "poll", "longpoll":
		path := "/api/poll?limit=1000&"
		if f.transport == "longpoll" {
			path = "/api/longpoll?timeout=" + cmp.Or(f.hold, "5") + "&limit=1000&"
		}
		for !f.holds(until) {
			p, err := wire.GetPage(ctx, http.DefaultClient, base+path+wire.Query(f.cursor, f.epoch))
			if err != nil && strings.Contains(err.Error(), "503 Service Unavailable: "+`{"error":"`+nodeLostFeed+`"}`) {
				f.goodbyes = append(f.goodbyes, "503 "+nodeLostFeed)
				return fmt.Errorf("%w: %v", errGoodbye, err)
			}
			if err != nil {
				return err
			}
			f.page(p)
			if len(p.Messages) == 0 && f.transport == "poll" {
				select { // a short poll asks again after a while: that is the technique
				case <-time.After(20 * time.Millisecond):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		return nil
	case "sse":
		return f.readSSE(ctx, base, until)
	case "ws":
		return f.readWS(ctx, base, until)
	}
	return fmt.Errorf("no transport %q", f.transport)
}

func (f *follower) readSSE(ctx context.Context, base string, until uint64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/sse?"+wire.Query(f.cursor, f.epoch), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("sse: %s %s", resp.Status, b)
	}
	r := wire.NewSSEReader(resp.Body)
	for !f.holds(until) {
		ev, err := r.Next()
		if err != nil {
			return err
		}
		if ev.IsComment() {
			continue
		}
		if ev.HasID {
			epoch, _, err := wire.ParseEventID(ev.ID)
			if err != nil {
				return err
			}
			f.epoch = epoch
		}
		switch ev.Event {
		case "hello":
		case "end": // the node's goodbye: its id is the position to resume from
			var end struct{ Reason, Reconnect string }
			_ = json.Unmarshal(ev.Data, &end)
			f.goodbyes = append(f.goodbyes, "end "+end.Reason+" "+end.Reconnect)
			return fmt.Errorf("%w: sse end %s", errGoodbye, ev.Data)
		case "reset":
			f.resets++
			f.cursor = 0
			f.log = append(f.log, "reset to "+f.epoch)
		case "missed":
			var m struct{ Missed uint64 }
			_ = json.Unmarshal(ev.Data, &m)
			f.missed += m.Missed
		case "":
			if err := f.message(ev.Data); err != nil {
				return err
			}
		default:
			return fmt.Errorf("sse: unknown event %q", ev.Event)
		}
	}
	return nil
}

func (f *follower) readWS(ctx context.Context, base string, until uint64) error {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, _, err := d.DialContext(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/ws?"+wire.Query(f.cursor, f.epoch), nil)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var buf bytes.Buffer
	for !f.holds(until) {
		b, err := wire.ReadFrame(conn, &buf)
		if ce := (*websocket.CloseError)(nil); errors.As(err, &ce) {
			f.goodbyes = append(f.goodbyes, fmt.Sprintf("close %d %s", ce.Code, ce.Text))
			return fmt.Errorf("%w: %v", errGoodbye, err)
		}
		if err != nil {
			return err
		}
		if !wire.IsFrame(b) {
			if err := f.message(b); err != nil {
				return err
			}
			continue
		}
		fr, err := wire.DecodeFrame(b)
		if err != nil {
			return err
		}
		switch fr.Type {
		case "hello":
			f.epoch = fr.Epoch
		case "reset":
			f.resets++
			f.epoch, f.cursor = fr.Epoch, 0
			f.log = append(f.log, "reset to "+fr.Epoch)
		case "missed":
			f.missed += fr.Missed
		default:
			return fmt.Errorf("ws: frame %s", b)
		}
	}
	return nil
}

// follow reads until id until, going to the next of bases whenever a node
// goes away, as a client behind a load balancer is sent elsewhere.
func (f *follower) follow(ctx context.Context, bases []string, until uint64) error {
	for i := 0; !f.holds(until); i++ {
		base := bases[i%len(bases)]
		err := f.read(ctx, base, until)
		if ctx.Err() != nil {
			return fmt.Errorf("%s: holds %d, want %d: %w (%v)", f.transport, f.cursor, until, ctx.Err(), f.log)
		}
		if err != nil {
			f.log = append(f.log, fmt.Sprintf("left %s at %d: %v", base, f.cursor, err))
			select { // as a client's reconnect delay; bounded by ctx
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
			}
		}
	}
	return nil
}

// check says what is wrong with what f got, against want (id -> bytes):
// every id from..to once, in order, with want's bytes.
func (f *follower) check(want map[uint64][]byte, from, to uint64) error {
	next := from
	for _, b := range f.got {
		id, _ := wire.MessageID(b)
		if id != next {
			return fmt.Errorf("%s: got id %d where %d was due (%v)", f.transport, id, next, f.log)
		}
		if w, ok := want[id]; ok && !bytes.Equal(b, w) {
			return fmt.Errorf("%s: message %d is %s, the publishing node's is %s", f.transport, id, b, w)
		}
		next++
	}
	if next != to+1 {
		return fmt.Errorf("%s: got up to %d, want %d (%v)", f.transport, next-1, to, f.log)
	}
	return nil
}

// followAll runs followers concurrently and returns their errors joined.
func followAll(ctx context.Context, fs []*follower, bases []string, until uint64) error {
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Go(func() { errs[i] = f.follow(ctx, bases, until) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// pollAll returns every message node base holds, by id, exactly as sent.
// oneOfEach is one follower per transport.
func oneOfEach() []*follower {
	var fs []*follower
	for _, tr := range transportNames {
		fs = append(fs, &follower{transport: tr})
	}
	return fs
}

// everyOneGotAll checks that every follower got ids 1 to n once, in order,
// with want's bytes, and was told of no reset and nothing missed.
func everyOneGotAll(t *testing.T, fs []*follower, want map[uint64][]byte, n uint64) {
	t.Helper()
	for _, f := range fs {
		if err := f.check(want, 1, n); err != nil {
			t.Fatal(err)
		}
		if f.resets != 0 || f.missed != 0 {
			t.Fatalf("%s: %d resets, %d missed, want none (%v)", f.transport, f.resets, f.missed, f.log)
		}
	}
}

func pollAll(t testing.TB, base string) (map[uint64][]byte, string) {
	t.Helper()
	out := map[uint64][]byte{}
	p, err := wire.GetPage(context.Background(), http.DefaultClient, base+"/api/poll?since=0&limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range p.Messages {
		id, _ := wire.MessageID(b)
		out[id] = b
	}
	return out, p.Epoch
}

// publishOK publishes text on base, answering its id; a 503 (no ack in
// time, as during a leader election) is tried again, as a client would.
func publishOK(ctx context.Context, base, text string) (uint64, error) {
	for {
		resp, err := http.Post(base+"/api/messages", "text/plain", strings.NewReader(text))
		if err != nil {
			return 0, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			var ack wire.Ack
			err := json.Unmarshal(b, &ack)
			return ack.ID, err
		}
		if resp.StatusCode != http.StatusServiceUnavailable {
			return 0, fmt.Errorf("publish: %s %s", resp.Status, b)
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return 0, fmt.Errorf("publish: still 503 (%s) when the test's time ran out", b)
		}
	}
}

// wsPublisher publishes over a WebSocket to a node, one frame at a time.
type wsPublisher struct{ conn *websocket.Conn }

func dialPublisher(t testing.TB, base string) *wsPublisher {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/api/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &wsPublisher{conn}
}

// publish sends a publish frame and waits for its "published" answer,
// skipping the messages the connection is sent meanwhile.
func (p *wsPublisher) publish(text string) (uint64, error) {
	data, _ := json.Marshal(text)
	_ = p.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := p.conn.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"type":"publish","data":%s}`, data)); err != nil {
		return 0, err
	}
	_ = p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var buf bytes.Buffer
	for {
		b, err := wire.ReadFrame(p.conn, &buf)
		if err != nil {
			return 0, err
		}
		if !wire.IsFrame(b) {
			continue
		}
		fr, err := wire.DecodeFrame(b)
		if err != nil {
			return 0, err
		}
		switch fr.Type {
		case "published":
			return fr.ID, nil
		case "error":
			return 0, errors.New(fr.Error)
		}
	}
}

func TestClusterEveryTransportOnBGetsWhatAPublishedOnA(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	a := startNode(t, c.URLs(), "a")
	b := startNode(t, c.URLs(), "b")
	const perTransport, n = 20, 40

	var onB, onA []*follower
	for _, tr := range transportNames {
		for range perTransport {
			onB = append(onB, &follower{transport: tr})
		}
		onA = append(onA, &follower{transport: tr})
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	defer cancel()
	done := make(chan error, 2)
	go func() { done <- followAll(ctx, onB, []string{b.URL}, n) }()
	go func() { done <- followAll(ctx, onA, []string{a.URL}, n) }()

	ws := dialPublisher(t, a.URL)
	for i := 1; i <= n; i++ {
		var id uint64
		var err error
		if i%2 == 0 {
			id, err = ws.publish("ws " + strconv.Itoa(i))
		} else {
			id, err = publishOK(ctx, a.URL, "http "+strconv.Itoa(i))
		}
		if err != nil || id != uint64(i) {
			t.Fatalf("publish %d on a: id %d, %v; want id %d", i, id, err, i)
		}
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	want, epochA := pollAll(t, a.URL)
	if _, epochB := pollAll(t, b.URL); epochA != epochB {
		t.Fatalf("epochs: a %s, b %s", epochA, epochB)
	}
	for _, f := range append(onB, onA...) {
		if err := f.check(want, 1, n); err != nil {
			t.Fatal(err)
		}
		if f.resets != 0 || f.missed != 0 {
			t.Fatalf("%s: %d resets, %d missed, want none", f.transport, f.resets, f.missed)
		}
	}
}

// TestClusterSubscriberMovesBetweenNodes: a subscriber of each transport
// reads from a, then b, then a again, with its cursor and epoch, while a
// publishes: no gap, no duplicate, no reset.
func TestClusterSubscriberMovesBetweenNodes(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	a := startNode(t, c.URL(0), "a")
	b := startNode(t, c.URL(1), "b")
	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	defer cancel()
	const n = 30
	published := make(chan error, 1)
	go func() {
		for i := 1; i <= n; i++ {
			if _, err := publishOK(ctx, a.URL, "m"+strconv.Itoa(i)); err != nil {
				published <- err
				return
			}
		}
		published <- nil
	}()
	fs := oneOfEach()
	for _, leg := range []struct {
		base  string
		until uint64
	}{{a.URL, 10}, {b.URL, 20}, {a.URL, n}} {
		if err := followAll(ctx, fs, []string{leg.base}, leg.until); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	want, _ := pollAll(t, b.URL)
	everyOneGotAll(t, fs, want, n)
}

// streamLeader is the index of the NATS server leading the stream.
func streamLeader(t testing.TB, c *natstest.Cluster, js jetstream.JetStream) int {
	t.Helper()
	s, err := js.Stream(context.Background(), "CLUSTER")
	if err != nil {
		t.Fatal(err)
	}
	info := s.CachedInfo()
	for i, srv := range c.Servers {
		if srv != nil && info.Cluster != nil && srv.Name() == info.Cluster.Leader {
			return i
		}
	}
	t.Fatalf("no running server leads the stream: %+v", info.Cluster)
	return -1
}

// TestClusterLosesTheStreamLeaderWhilePublishing: the NATS server leading
// the R3 stream stops in the middle of the publishes. Publishing goes on
// after the election (a publish that got no ack in time got 503 and is
// sent again), every acknowledged message reaches b's subscribers, and the
// ids stay gap-free.
func TestClusterLosesTheStreamLeaderWhilePublishing(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	a := startNode(t, c.URLs(), "a")
	b := startNode(t, c.URLs(), "b")
	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	defer cancel()
	fs := oneOfEach()
	const n = 40
	followed := make(chan error, 1)
	go func() { followed <- followAll(ctx, fs, []string{b.URL, a.URL}, n) }()

	acked := map[uint64]string{}
	for i := 1; i <= n; i++ {
		if i == n/2 {
			leader := streamLeader(t, c, natstest.Admin(t, c.URLs()))
			t.Logf("stopping the stream leader, NATS server %d", leader+1)
			c.Stop(leader)
		}
		id, err := publishOK(ctx, a.URL, "m"+strconv.Itoa(i))
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		acked[id] = "m" + strconv.Itoa(i)
	}
	if err := <-followed; err != nil {
		t.Fatal(err)
	}
	want, _ := pollAll(t, a.URL)
	for _, f := range fs {
		// A publish retried after a 503 may be stored twice; the ids are
		// gap-free all the same, and each acknowledged one is there.
		last, _ := wire.MessageID(f.got[len(f.got)-1])
		if err := f.check(want, 1, last); err != nil {
			t.Fatal(err)
		}
		for id, text := range acked {
			m, err := wire.DecodeMessage(f.got[id-1])
			if err != nil || string(m.Data) != strconv.Quote(text) {
				t.Fatalf("%s: acknowledged message %d is %s, want data %q", f.transport, id, f.got[id-1], text)
			}
		}
	}
}

// TestClusterRecreatedStreamIsAReset: the stream is deleted and created
// again; subscribers on b are told reset, then get the new stream's
// messages from id 1.
func TestClusterRecreatedStreamIsAReset(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	a := startNode(t, c.URL(0), "a")
	b := startNode(t, c.URL(1), "b")
	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	defer cancel()
	for i := 1; i <= 5; i++ {
		if _, err := publishOK(ctx, a.URL, "old"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	fs := oneOfEach()
	if err := followAll(ctx, fs, []string{b.URL}, 5); err != nil {
		t.Fatal(err)
	}
	_, oldEpoch := pollAll(t, a.URL)

	js := natstest.Admin(t, c.URL(2))
	s, err := js.Stream(ctx, "CLUSTER")
	if err != nil {
		t.Fatal(err)
	}
	natstest.RecreateStream(t, js, s.CachedInfo().Config)
	// Publish once a has noticed; its first id in the new stream is 1.
	deadline := time.Now().Add(clusterWait)
	for {
		if _, e := pollAll(t, a.URL); e != oldEpoch {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a still serves the old epoch")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := 1; i <= 3; i++ {
		if id, err := publishOK(ctx, a.URL, "new"+strconv.Itoa(i)); err != nil || id != uint64(i) {
			t.Fatalf("publish %d on the new stream: id %d, %v", i, id, err)
		}
	}
	want, newEpoch := pollAll(t, a.URL)
	for _, f := range fs {
		f.got, f.needEpoch = nil, newEpoch
	}
	if err := followAll(ctx, fs, []string{b.URL}, 3); err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.resets != 1 || f.epoch != newEpoch {
			t.Fatalf("%s: %d resets, epoch %s; want one reset to %s (%v)", f.transport, f.resets, f.epoch, newEpoch, f.log)
		}
		if err := f.check(want, 1, 3); err != nil {
			t.Fatal(err)
		}
	}
}

// cutProxy forwards TCP to a NATS server until Cut, which closes every
// connection and refuses new ones: a node's link to NATS is gone.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	cut    bool
}

func newCutProxy(t testing.TB, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.Cut(true) })
	go p.serve()
	return p
}

func (p *cutProxy) URL() string { return "nats://" + p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			in.Close()
			continue
		}
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); out.Close() }()
		go func() { _, _ = io.Copy(in, out); in.Close() }()
	}
}

// Cut closes every forwarded connection; while cut, none is accepted.
func (p *cutProxy) Cut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// TestClusterNodeCutFromNATS: b loses its link to NATS while subscribers
// of every transport wait on it. Its /healthz says so, its reads answer
// 503 and its streams are told goodbye (transports/health.go), each in
// its transport's words before the connection ends (WebSocket close 1012
// with the reason, SSE an end event, the held long poll a 503), so the
// subscribers go on to a at once and resume there without loss, without a
// duplicate, without a reset; once the link is back, b catches up and
// serves them again.
func TestClusterNodeCutFromNATS(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	link := newCutProxy(t, strings.TrimPrefix(c.URL(1), "nats://"))
	a := startNode(t, c.URL(0), "a")
	b := startNode(t, link.URL(), "b")
	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	defer cancel()
	for i := 1; i <= 5; i++ {
		if _, err := publishOK(ctx, a.URL, "m"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	fs := oneOfEach()
	fs[1].hold = "60" // the long poll is still held on b when b says goodbye
	if err := followAll(ctx, fs, []string{b.URL}, 5); err != nil {
		t.Fatal(err)
	}

	followed := make(chan error, 1)
	go func() { followed <- followAll(ctx, fs, []string{b.URL, a.URL}, 10) }() // on b; on a once b fails them
	awaitClients(t, b.URL, map[string]int64{"longpoll": 1, "sse": 1, "ws": 1}) // held open on b when the link goes
	link.Cut(true)
	awaitHealth(t, b.URL, http.StatusServiceUnavailable)
	for i := 6; i <= 10; i++ {
		if _, err := publishOK(ctx, a.URL, "m"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if code := publish(t, b.URL, "while cut"); code != http.StatusServiceUnavailable {
		t.Fatalf("publish on b while cut: %d, want 503", code)
	}
	if err := <-followed; err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if !strings.Contains(strings.Join(f.log, " "), "left "+b.URL) {
			t.Fatalf("%s: never left b (%v)", f.transport, f.log)
		}
	}
	for tr, want := range map[string]string{
		"longpoll": "503 " + nodeLostFeed,
		"sse":      "end " + nodeLostFeed + " now",
		"ws":       "close 1012 " + nodeLostFeed,
	} {
		f := fs[slices.Index(transportNames, tr)]
		if len(f.goodbyes) != 1 || f.goodbyes[0] != want {
			t.Fatalf("%s: goodbyes %q, want b's %q before the connection ended (%v)", tr, f.goodbyes, want, f.log)
		}
	}

	link.Cut(false)
	awaitHealth(t, b.URL, http.StatusOK)
	for i := 11; i <= 12; i++ {
		if _, err := publishOK(ctx, a.URL, "m"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := followAll(ctx, fs, []string{b.URL}, 12); err != nil {
		t.Fatal(err)
	}
	var st transports.Snapshot
	if _, body := get(t, b.URL+"/api/stats"); json.Unmarshal([]byte(body), &st) != nil || st.Feed.JetStream == nil || st.Feed.JetStream.Epochs != 1 {
		t.Fatalf("b's stats after the cut: %s, want one epoch", body)
	}
	t.Logf("b started %d consumers", st.Feed.JetStream.Consumers)
	want, _ := pollAll(t, a.URL)
	everyOneGotAll(t, fs, want, 12)
}

// TestClusterNodeRestartsWhileItsClientsUseTheOther: b stops; its
// subscribers resume on a; b starts again on the same stream, with the
// same epoch, and they come back to it: nothing lost, no reset.
func TestClusterNodeRestartsWhileItsClientsUseTheOther(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	a := startNode(t, c.URLs(), "a")
	b := startNode(t, c.URLs(), "b")
	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	defer cancel()
	fs := oneOfEach()
	publishRange := func(from, to int) {
		t.Helper()
		for i := from; i <= to; i++ {
			if _, err := publishOK(ctx, a.URL, "m"+strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	publishRange(1, 5)
	if err := followAll(ctx, fs, []string{b.URL}, 5); err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(); err != nil {
		t.Fatalf("stopping b: %v", err)
	}
	publishRange(6, 10)
	if err := followAll(ctx, fs, []string{b.URL, a.URL}, 10); err != nil { // b is gone: they end up on a
		t.Fatal(err)
	}
	b2 := startNode(t, c.URLs(), "b")
	publishRange(11, 15)
	if err := followAll(ctx, fs, []string{b2.URL}, 15); err != nil {
		t.Fatal(err)
	}
	want, _ := pollAll(t, a.URL)
	everyOneGotAll(t, fs, want, 15)
}

// awaitClients waits until node base counts at least the clients want
// per transport (connected streams, held long polls).
func awaitClients(t testing.TB, base string, want map[string]int64) {
	t.Helper()
	deadline := time.Now().Add(clusterWait)
	for {
		_, body := get(t, base+"/api/stats")
		var st transports.Snapshot
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatal(err)
		}
		ok := true
		for tr, n := range want {
			ok = ok && st.Transports[tr].Clients >= n
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has clients %s, want at least %v", base, body, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// awaitHealth waits until GET /healthz answers code.
func awaitHealth(t testing.TB, base string, code int) {
	t.Helper()
	deadline := time.Now().Add(clusterWait)
	for {
		got, body := get(t, base+"/healthz")
		if got == code {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/healthz: %d %q after %v, want %d", base, got, body, clusterWait, code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
