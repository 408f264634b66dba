package load

import (
	"testing"
	"time"
)

// TestSilencesOfALinkSilentByItself: a link silent for 100 ms every
// second (train's shape, shorter) is planned from the window's start
// while the window holds a whole silence, and each silence gets its own
// row: who noticed it while silent, who only after its return (but
// before the next began), and when each caught up with the messages
// meant for before that return.
func TestSilencesOfALinkSilentByItself(t *testing.T) {
	win := &window{}
	o := &outage{d: 100 * time.Millisecond, every: time.Second}
	at := epoch.Add(time.Hour)
	o.plan(win, at, at.Add(2500*time.Millisecond))
	ends := *win.outageEnds.Load()
	if len(o.starts) != 3 || len(ends) != 3 || ends[2] != int64(time.Hour+2100*time.Millisecond) {
		t.Fatalf("planned %d silences ending at %v, want 3, the last 2.1 s after the window's start", len(o.starts), ends)
	}
	begin := func(k int) int64 { return int64(o.starts[k].Sub(epoch)) }
	for k := range 2 { // the third never began: the run ended first
		o.begun[k].Store(begin(k))
	}
	pub := &publisher{ok: []bool{true, true}}
	early, late := newSub(0), newSub(1)
	for _, s := range []*sub{early, late} {
		s.win, s.seen = win, []uint8{1, 1}
	}
	ms := int64(time.Millisecond)
	early.rules.notices = []noticed{{begin(0) + 50*ms, "watchdog"}, {begin(1) + 60*ms, "deadline"}}
	late.rules.notices = []noticed{{begin(1) + 300*ms, "deadline"}}
	early.catchUp(begin(0)+10*ms, begin(0)+130*ms) // meant for before return 1, came 30 ms after it
	early.catchUp(begin(1)-ms, begin(1)+400*ms)    // meant for before return 2, came 300 ms after it
	late.catchUp(begin(1)+99*ms, begin(1)+100*ms)  // came the moment link 2 returned
	rows := o.rows([]*sub{early, late}, "a rule", pub)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want one for each of the 2 silences that began", len(rows))
	}
	first, second := rows[0], rows[1]
	if first.AtMS != 0 || second.AtMS != 1000 || first.Rule != "a rule" || first.SilentMS != 100 {
		t.Errorf("silences at %.0f and %.0f ms, rule %q, %.0f ms long; want 0 and 1000, the rule, 100", first.AtMS, second.AtMS, first.Rule, first.SilentMS)
	}
	if first.Noticed != 1 || first.How != "watchdog" || first.NoticeMS.Max != 50 || first.NoticedAfter != 0 {
		t.Errorf("silence 1: %+v; want one noticed by the watchdog 50 ms in", first)
	}
	if second.Noticed != 1 || second.How != "deadline" || second.NoticeMS.Max != 60 || second.NoticedAfter != 1 {
		t.Errorf("silence 2: %+v; want one noticed 60 ms in, one only after the return", second)
	}
	if first.CaughtUp != 2 || first.CaughtUpMS.Max != 30 || second.CaughtUpMS.Min != 0 || second.CaughtUpMS.Max != 300 {
		t.Errorf("caught up after silence 1: %+v, after 2: %+v; want 0..30 ms and 0..300 ms", first.CaughtUpMS, second.CaughtUpMS)
	}
}
