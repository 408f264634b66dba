package transports

import (
	"strings"
	"testing"
)

// The waiters one publish wakes at the same cursor share one encoded
// answer, and no answer outlives the feed state it was read at.
func TestPollAnswersAreSharedUntilTheNextPublish(t *testing.T) {
	s := newServer(t, 10, nil)
	if _, err := s.publish([]byte(`"a"`)); err != nil {
		t.Fatal(err)
	}
	pos := position{cursor: 0}
	a, b := s.answer(pos, 100), s.answer(pos, 100)
	if &a.body[0] != &b.body[0] {
		t.Fatal("two polls at the same cursor, with nothing published between them, were encoded twice")
	}
	if c := s.answer(pos, 1); &c.body[0] == &a.body[0] {
		t.Fatal("a poll with another limit got the same answer")
	}
	if _, err := s.publish([]byte(`"b"`)); err != nil {
		t.Fatal(err)
	}
	c := s.answer(pos, 100)
	if !strings.Contains(string(c.body), `"data":"b"`) || c.messages != 2 || !c.news {
		t.Fatalf("after a second publish the answer is %s (%d messages): a stale answer was served", c.body, c.messages)
	}
	if e := s.answer(position{cursor: 2}, 100); e.news || e.messages != 0 {
		t.Fatalf("at the head: %s, want an empty answer", e.body)
	}
}
