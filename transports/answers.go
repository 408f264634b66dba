package transports

// The poll answers made last, shared by the polls that ask the same
// (page.go makes them).

import "sync"

// pollAnswer is one encoded answer.
type pollAnswer struct {
	body     []byte      // never modified once made: answers are shared
	gzip     *gzipAnswer // its gzip body, made once when first asked (compress.go); nil without --compress
	messages int
	news     bool // messages, or a missed or reset notice: a long poll answers at once
}

type answerKey struct {
	epoch  string // the client's
	cursor uint64
	limit  int
	last   uint64 // the feed's last id
	now    string // the feed's epoch
}

// answerCache holds the few answers made last; a publish makes them all
// stale, and the next ones replace them. It also knows the answers being
// made: a poll that asks for one of those waits for it, so many polls
// that ask at once (the connections of a direct long poll, the handlers
// of net/http, the dispatchers) share one encoding, not one each, which
// matters when the answer is a mebibyte that a client does not read.
type answerCache struct {
	mu      sync.Mutex
	entries [4]struct {
		key answerKey
		a   pollAnswer
	}
	next   int
	making map[answerKey]*answerMaking
}

// answerMaking is an answer being made, for the polls that ask meanwhile.
type answerMaking struct {
	done chan struct{} // closed once a is set
	a    pollAnswer
}

// get returns the answer for k, made or being made (it waits for it
// then), and true; or false, and the making that the caller, who must make
// the answer, ends with made.
func (ac *answerCache) get(k answerKey) (pollAnswer, bool, *answerMaking) {
	ac.mu.Lock()
	for i := range ac.entries { // by index: a range over the array's values would copy it, on every poll
		if e := &ac.entries[i]; e.key == k && e.a.body != nil {
			a := e.a
			ac.mu.Unlock()
			return a, true, nil
		}
	}
	if m := ac.making[k]; m != nil {
		ac.mu.Unlock()
		<-m.done
		return m.a, true, nil
	}
	if ac.making == nil {
		ac.making = map[answerKey]*answerMaking{}
	}
	m := &answerMaking{done: make(chan struct{})}
	ac.making[k] = m
	ac.mu.Unlock()
	return pollAnswer{}, false, m
}

// made gives a, the answer for k, to the polls that waited for it, and
// keeps it for those to come if keep.
func (ac *answerCache) made(k answerKey, m *answerMaking, a pollAnswer, keep bool) {
	ac.mu.Lock()
	delete(ac.making, k)
	if keep {
		ac.entries[ac.next].key, ac.entries[ac.next].a = k, a
		ac.next = (ac.next + 1) % len(ac.entries)
	}
	ac.mu.Unlock()
	m.a = a
	close(m.done)
}
