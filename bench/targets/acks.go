package targets

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"fourway/bench/load"
	"fourway/bench/record"
)

// measureAcks publishes n messages of payload bytes to an R1 and an R3
// stream (file storage, as fourway's), in alternating blocks of 50 so that
// both see the same machine, one publish at a time, and returns each
// stream's ack round trip. The streams are deleted afterwards.
func measureAcks(ctx context.Context, c *natsCluster, n, payload int) ([]record.AckLatency, error) {
	nc, js, err := c.connect()
	if err != nil {
		return nil, fmt.Errorf("NATS: %w", err)
	}
	defer nc.Close()
	type target struct {
		name, subject string
		hists         load.HistSet
		res           record.AckLatency
	}
	var ts []*target
	for _, r := range []int{1, clusterReplicas} {
		t := &target{name: fmt.Sprintf("FOURWAY_BENCH_ACK_R%d", r), subject: fmt.Sprintf("fourway.bench.ack.r%d", r), hists: load.NewHistSet(1)}
		t.res = record.AckLatency{Replicas: r, Payload: payload, Connected: nc.ConnectedServerName(),
			What: "nats.go JetStream publish to ack, one at a time, from the bench's process (not through fourway)"}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = js.DeleteStream(cctx, t.name)
		s, err := js.CreateStream(cctx, jetstream.StreamConfig{Name: t.name, Subjects: []string{t.subject}, Replicas: r,
			Storage: jetstream.FileStorage, MaxMsgs: 1000, Discard: jetstream.DiscardOld})
		if err == nil {
			var info *jetstream.StreamInfo
			if info, err = s.Info(cctx); err == nil && info.Cluster != nil {
				t.res.Leader = info.Cluster.Leader
			}
		}
		cancel()
		if err != nil {
			return nil, fmt.Errorf("create stream %s (R%d): %w", t.name, r, err)
		}
		ts = append(ts, t)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, t := range ts {
			_ = js.DeleteStream(cctx, t.name)
		}
	}()
	data := make([]byte, payload)
	for i := range data {
		data[i] = 'x'
	}
	publish := func(t *target) (int64, error) {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		start := load.Mono()
		if _, err := js.Publish(pctx, t.subject, data); err != nil {
			return 0, fmt.Errorf("publish to %s: %w", t.name, err)
		}
		return load.Mono() - start, nil
	}
	const block, warm = 50, 20
	for _, t := range ts { // warm-up, not recorded: connections, leaders' first writes
		for range warm {
			if _, err := publish(t); err != nil {
				return nil, err
			}
		}
	}
	for done := 0; done < n; done += block {
		for _, t := range ts {
			for range min(block, n-done) {
				took, err := publish(t)
				if err != nil {
					return nil, err
				}
				t.hists[0].Record(took)
				t.res.Publishes++
			}
		}
	}
	var out []record.AckLatency
	for _, t := range ts {
		t.res.Latency = load.LatencyOf(t.hists.Merged())
		out = append(out, t.res)
	}
	return out, nil
}
