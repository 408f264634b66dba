// Package fanout is how one publish reaches every socket: the
// dispatchers that wake the streaming connections after a publish and drop
// the ones whose socket stopped taking bytes, the pusher that writes a
// connection's bytes without waiting, the socket it writes to, the live
// connections, the WebSocket frames encoded once for all, and the
// timeouts of held long polls.
//
// It imports nothing of the transports: package transports uses it, never
// the other way round. Its files, from the top down:
//
//	dispatch.go  the dispatchers: one publish wakes every stream; blocked sockets dropped
//	push.go      a stream's bytes written by whoever wakes it, never waiting
//	socket.go    the write that never waits, and the one that waits with a deadline
//	live.go      the live connections, for a limit, the hang-ups and the goodbyes
//	frames.go    WebSocket frames, and the cache that encodes each message once
//	holds.go     the timeouts of held long polls, one timer for many
package fanout
