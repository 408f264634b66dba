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
	var streams []*ackStream
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, s := range streams {
			_ = js.DeleteStream(cctx, s.name)
		}
	}()
	for _, r := range []int{1, clusterReplicas} {
		s := &ackStream{js: js, name: fmt.Sprintf("FOURWAY_BENCH_ACK_R%d", r), subject: fmt.Sprintf("fourway.bench.ack.r%d", r), hists: load.NewHistSet(1), data: make([]byte, payload)}
		s.res = record.AckLatency{Replicas: r, Payload: payload, Connected: nc.ConnectedServerName(),
			What: "nats.go JetStream publish to ack, one at a time, from the bench's process (not through fourway)"}
		if err := s.create(ctx); err != nil {
			return nil, err
		}
		streams = append(streams, s)
	}
	if err := publishAcks(ctx, streams, n); err != nil {
		return nil, err
	}
	var out []record.AckLatency
	for _, s := range streams {
		s.res.Latency = load.LatencyOf(s.hists.Merged())
		out = append(out, s.res)
	}
	return out, nil
}

// publishAcks publishes to each stream 20 unrecorded messages (the
// connections, the leaders' first writes), then n recorded ones, in
// alternating blocks of 50.
func publishAcks(ctx context.Context, streams []*ackStream, n int) error {
	const block, warm = 50, 20
	for _, s := range streams {
		for range warm {
			if _, err := s.publish(ctx); err != nil {
				return err
			}
		}
	}
	for done := 0; done < n; done += block {
		for _, s := range streams {
			for range min(block, n-done) {
				took, err := s.publish(ctx)
				if err != nil {
					return err
				}
				s.hists[0].Record(took)
				s.res.Publishes++
			}
		}
	}
	return nil
}

// ackStream is one stream the publish-to-ack latency is measured on.
type ackStream struct {
	js            jetstream.JetStream
	name, subject string
	data          []byte // what each publish carries
	hists         load.HistSet
	res           record.AckLatency
}

// create makes the stream afresh, and names its leader.
func (s *ackStream) create(ctx context.Context) error {
	r := s.res.Replicas
	for i := range s.data {
		s.data[i] = 'x'
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = s.js.DeleteStream(cctx, s.name)
	st, err := s.js.CreateStream(cctx, jetstream.StreamConfig{Name: s.name, Subjects: []string{s.subject}, Replicas: r,
		Storage: jetstream.FileStorage, MaxMsgs: 1000, Discard: jetstream.DiscardOld})
	if err == nil {
		var info *jetstream.StreamInfo
		if info, err = st.Info(cctx); err == nil && info.Cluster != nil {
			s.res.Leader = info.Cluster.Leader
		}
	}
	if err != nil {
		return fmt.Errorf("create stream %s (R%d): %w", s.name, r, err)
	}
	return nil
}

// publish publishes one message and waits for its ack, and returns how
// long that took, in nanoseconds.
func (s *ackStream) publish(ctx context.Context) (int64, error) {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := load.Mono()
	if _, err := s.js.Publish(pctx, s.subject, s.data); err != nil {
		return 0, fmt.Errorf("publish to %s: %w", s.name, err)
	}
	return load.Mono() - start, nil
}
