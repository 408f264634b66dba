// Package direct holds the two writers that exist to measure what a
// library costs, apart from the lessons: SSE without r3labs/sse
// (--sse-writer direct), beside which the library's stream shows the
// library's cost, and long polls without net/http's request cycle
// (--longpoll-writer direct), beside which net/http's show what its
// request cycle costs a held poll. Each takes its connection from
// net/http and writes to it through a fanout.Pusher, as the WebSocket's
// frames go out.
//
// Both are behind one interface, Host: what they need of the server that
// hands them its connections (its figures, its dispatchers, its live
// connections, its handler, its poll answers), filled in by package
// transports, which they do not import. The files, from the top down:
//
//	sse.go       SSE streams framed here and written straight onto the socket
//	longpoll.go  a held long poll, answered by whoever learns it is due
//	conn.go      the connection taken for its long polls: reading, refusing, answering, handing back
//	host.go      Host, the server as the writers see it; Poll and Answer
//	idle.go      the connections between two requests, and the counts for /metrics
package direct
