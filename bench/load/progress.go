package load

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Progress is what the stderr line shows.
type Progress struct {
	label     atomic.Pointer[string]
	phase     atomic.Pointer[string]
	until     atomic.Int64 // mono ns when the phase ends, 0 if unknown
	published atomic.Int64
	delivered atomic.Pointer[func() int64]
}

// Set shows the scenario label in phase, until mono nanoseconds (0 if
// unknown).
func (p *Progress) Set(label, phase string, until int64) {
	p.label.Store(&label)
	p.phase.Store(&phase)
	p.until.Store(until)
}

// StartProgress prints the progress line on stderr until the returned func
// is called: in place on a terminal, one line every few seconds otherwise.
func StartProgress(p *Progress, stderr io.Writer, quiet bool) func() {
	if quiet {
		return func() {}
	}
	tty := false
	if f, ok := stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	every := 3 * time.Second
	if tty {
		every = 250 * time.Millisecond
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprint(stderr, "\r\033[K")
				}
				return
			case <-t.C:
			}
			label, phase := p.label.Load(), p.phase.Load()
			if label == nil {
				continue
			}
			left := ""
			if u := p.until.Load(); u > 0 {
				left = fmt.Sprintf(" %4.1fs left", max(0, float64(u-Mono())/1e9))
			}
			var delivered int64
			if f := p.delivered.Load(); f != nil {
				delivered = (*f)()
			}
			line := fmt.Sprintf("%s: %s%s, %d published, %d delivered", *label, *phase, left, p.published.Load(), delivered)
			if tty {
				fmt.Fprintf(stderr, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(stderr, line)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
