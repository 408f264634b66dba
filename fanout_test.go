package main

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"
)

// TestEverySubscriberGetsEveryMessageOnAllFourTransports publishes 2,000
// messages while 20 subscribers on each transport read. Each must get every
// message once, in order, and the bytes of a message must be the same on
// all four transports.
func TestEverySubscriberGetsEveryMessageOnAllFourTransports(t *testing.T) {
	const messages, perTransport = 2000, 20
	ts := startServer(t, "--history", "5000")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var (
		mu        sync.Mutex
		followers []*follower
		wg        sync.WaitGroup
	)
	for _, tr := range followTransports {
		for i := 0; i < perTransport; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := follow(ctx, tr, ts.URL, "", 0, messages)
				mu.Lock()
				followers = append(followers, f)
				mu.Unlock()
			}()
		}
	}
	publishN(t, ts.URL, messages)
	wg.Wait()

	var reference map[uint64][]byte
	resumes := map[string]int{}
	for _, f := range followers {
		if err := f.check(1, messages); err != nil {
			t.Error(err)
			continue
		}
		resumes[f.transport] += f.resumes
		if reference == nil {
			reference = f.raw
			continue
		}
		for id, b := range f.raw {
			if !bytes.Equal(b, reference[id]) {
				t.Errorf("%s: message %d is %s, other transports got %s", f.transport, id, b, reference[id])
				break
			}
		}
	}
	if len(followers) != 4*perTransport {
		t.Fatalf("%d followers finished, want %d", len(followers), 4*perTransport)
	}
	t.Logf("resumes after a dropped connection, per transport: %v", resumes)
}
