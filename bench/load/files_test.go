package load

import (
	"strings"
	"syscall"
	"testing"

	"fourway/bench/plan"
)

// TestFileLimit: the bench raises its open-file limit to what a scenario
// needs, past the hard limit when it may, and says what to do when it
// may not.
func TestFileLimit(t *testing.T) {
	fake := func(cur, hard uint64, mayRaiseHard bool) (*[2]uint64, fileLimit) {
		lim := &[2]uint64{cur, hard}
		return lim, fileLimit{
			get: func() (uint64, uint64, error) { return lim[0], lim[1], nil },
			set: func(c, h uint64) error {
				if h > lim[1] && !mayRaiseHard || c > h {
					return syscall.EPERM
				}
				lim[0], lim[1] = c, h
				return nil
			},
		}
	}
	need := plan.FilesNeeded(plan.Scenario{Mixed: "ws+sse", Subs: 10000, Publishers: 4})
	if need != 20000+4+plan.FileMargin {
		t.Fatalf("filesNeeded = %d, want 20,260", need)
	}
	lim, l := fake(1024, 1<<20, false)
	if err := raiseFileLimit(l, need, "the bench", "test"); err != nil || lim[0] != need {
		t.Errorf("under the hard limit: %v, soft limit %d, want nil and %d", err, lim[0], need)
	}
	lim, l = fake(1024, 20000, true)
	if err := raiseFileLimit(l, need, "the bench", "test"); err != nil || lim[0] != need || lim[1] != need {
		t.Errorf("as root: %v, limits %v, want nil and %d", err, *lim, need)
	}
	lim, l = fake(1024, 20000, false)
	err := raiseFileLimit(l, need, "the bench", "20000 subscribers and 4 publishing connections")
	if err == nil {
		t.Fatal("past the hard limit, without the right to raise it: no error")
	}
	for _, want := range []string{"the bench needs 20260 open files (20000 subscribers and 4 publishing connections)", "hard limit is 20000", "ulimit -Hn 20260", "fewer subscribers"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the message %q does not say %q", err, want)
		}
	}
	if lim[0] != 20000 {
		t.Errorf("soft limit left at %d, want the hard limit, 20000", lim[0])
	}
}
