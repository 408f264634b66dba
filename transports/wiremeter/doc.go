// Package wiremeter measures what crosses a client's socket: every byte,
// by transport and by kind (heads, framing, heartbeats), and, while
// someone looks, the exchanges themselves for the wire inspector. It wraps
// the socket (Listener hands out a counting Conn) and reads the bytes as
// they go by, so the handlers above it send and receive as if it were not
// there; they only name whose a request is (Stats.Count) and what framing
// to follow (Conn.FollowChunks, Conn.FollowFrames).
//
// It imports nothing of the server: package transports uses it, never the
// other way round. Its files, from the top down, each above what it uses:
//
//	inspect.go   the wire inspector: the newest exchanges, as they crossed the socket
//	h2.go        HTTP/2 served on metered connections, counted per stream frame by frame
//	events.go    what the transports report (joined, left, delivered, dropped), and a writer's Tally
//	conn.go      the counting connection and listener: each request's bytes to its transport
//	parts.go     the framing followed on the socket: a client's WebSocket frames, net/http's chunks
//	frame.go     a WebSocket frame's header, decoded once, and the one heartbeat rule
//	counters.go  the counters per transport, and the figures GET /api/stats shows
package wiremeter
