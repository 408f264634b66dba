package load

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"fourway/bench/record"
)

// storm is the fault of a -storm scenario: at the window's start every
// subscriber's connection is cut at once, by the server ("cut": fourway's
// POST /api/drop?transport=all, its feed going on) or by its process
// being killed and started again where it listened ("restart": its
// in-memory feed lost). The subscribers come back by the page's backoff
// (rules.go), or all at once under -herd.
type storm struct {
	kind string
	srv  *Server
	c    *http.Client // the publisher's: straight to the server
	at   atomic.Int64 // Mono of the cut; 0: not yet
	err  atomic.Pointer[string]
	peak float64 // the server's busiest interval, cores; read after done
	done chan struct{}
}

// stormCPUInterval is the interval over which the server's CPU is read
// after the cut: 20 of /proc's 10 ms ticks, so a reading is within 10 %.
const stormCPUInterval = 200 * time.Millisecond

// run cuts every connection at at, then reads the server's CPU every
// stormCPUInterval until end; done is closed when it returns.
func (st *storm) run(ctx context.Context, win *window, at, end time.Time) {
	defer close(st.done)
	if !SleepUntil(ctx, at) {
		return
	}
	now := Mono()
	st.at.Store(now)
	win.stormAt.Store(now)
	var err error
	switch st.kind {
	case "cut":
		err = dropAll(ctx, st.c, st.srv.Base)
	case "restart":
		if st.srv.Restart == nil {
			err = fmt.Errorf("this server cannot be restarted by the bench")
		} else {
			err = st.srv.Restart(ctx)
		}
	}
	if err != nil {
		msg := err.Error()
		st.err.Store(&msg)
		return
	}
	prev, _, _, ok := st.srv.partsCPU()
	if !ok {
		return
	}
	t := time.NewTicker(stormCPUInterval)
	defer t.Stop()
	last := time.Now()
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cpu, _, _, ok := st.srv.partsCPU()
		if !ok {
			return
		}
		now := time.Now()
		st.peak = max(st.peak, (cpu-prev)/now.Sub(last).Seconds())
		prev, last = cpu, now
	}
}

// dropAll asks fourway to cut every subscriber's connection, with no
// goodbye, as a network failure would.
func dropAll(ctx context.Context, c *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/drop?transport=all", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("POST /api/drop: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST /api/drop: %s", resp.Status)
	}
	return nil
}

// killedAt is when the server's process was killed, in Mono: the cut of
// a restart storm; 0 without one, or before it struck.
func (st *storm) killedAt() int64 {
	if st == nil || st.kind != "restart" {
		return 0
	}
	return st.at.Load()
}

// row is what the subscribers of one transport met of the storm; nil when
// it never struck.
func (st *storm) row(subs []*sub, herd bool) *record.Storm {
	<-st.done
	at := st.at.Load()
	if at == 0 {
		return nil
	}
	r := &record.Storm{Kind: st.kind, Herd: herd, Subscribers: len(subs), PeakCPU: st.peak, CPUIntervalMS: ms(int64(stormCPUInterval))}
	if e := st.err.Load(); e != nil {
		r.Error = *e
	}
	var served []float64
	for _, s := range subs {
		if t := s.rules.served.Load(); t != 0 {
			served = append(served, ms(t-at))
		}
	}
	slices.Sort(served)
	r.Served = len(served)
	for i, q := range []float64{0.5, 0.99, 1} {
		k := int(math.Ceil(q * float64(len(subs))))
		r.ServedMS[i] = -1
		if k >= 1 && k <= len(served) {
			r.ServedMS[i] = served[k-1]
		}
	}
	return r
}
