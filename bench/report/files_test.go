package report

import "testing"

func TestCommandIsQuotedForTheShell(t *testing.T) {
	got := Command([]string{"-plan", "ws,sse:1000:100;longpoll:1000:10", "-out", "it's here", "-subs", "10,100"})
	want := `go run ./bench -plan 'ws,sse:1000:100;longpoll:1000:10' -out 'it'\''s here' -subs 10,100`
	if got != want {
		t.Errorf("command = %s\nwant      %s", got, want)
	}
}
