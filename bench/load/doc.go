// Package load is the bench's load: the clients of each server, counting
// their bytes on their own sockets, the open-loop publisher, and Measure,
// one scenario measured from the server's start to the last message's
// receipt.
//
// Its files, each using only those above it:
//
//	clock.go        the bench's monotonic clock, the measured window, SleepUntil
//	hist.go         latency histograms, sharded, and LatencyOf
//	stamp.go        the publisher's data {"seq":N,"t":T,"pad":...}, and reading it back
//	payload.go      the payload kinds' data: a chat message, a dashboard update, a document
//	proc.go         a process's CPU, memory and children from /proc; the machine's CPU
//	files.go        the open-file limit a scenario needs
//	clients.go      HTTP clients over each protocol of -proto, and the errors asking again cannot change
//	meter.go        a subscriber's counting dial: bytes and requests on its own socket, its source address
//	encoding.go     -compress: what a subscriber offers, and gzip bodies decoded as they arrive, counted
//	rules.go        the page's client rules: backoff with full jitter, what a subscriber noticed of an outage
//	sub.go          a subscriber: what it received, its bytes and requests, its connects and waits
//	watchdog.go     the page's watchdogs: the WebSocket heartbeat, the SSE watchdog, the polls' deadlines
//	dialect.go      how the bench talks to one kind of server
//	fourway.go      fourway's dialect: its publisher, and a client of each transport of its wire contract
//	nchan.go        Nchan's dialect, in Nchan's ways
//	progress.go     the progress line on stderr
//	publisher.go    the open-loop publisher
//	server.go       Server, a server under test: its address, its processes, their CPU and memory
//	serverbytes.go  what fourway counted of its own bytes, from /api/stats
//	outage.go       -outage: the link silent at the window's start, and what each transport's subscribers met of it
//	storm.go        -storm: every connection cut at once, how soon each transport's subscribers are served again
//	collect.go      a transport's row: each subscriber checked against every message, their figures summed
//	results.go      a scenario's rows: the server's cost, each process's share, the machine's load
//	scenario.go     Measure: one scenario, step by step
package load
