// Package targets starts and stops the servers the bench measures: the
// fourway binary as a child process (built once per run), nginx + Nchan,
// a fourway at -url, and the NATS cluster and nginx of -cluster. Each is
// a load.Server: its address, its processes for /proc, how to stop it.
//
// Its files, each using only those above it:
//
//	local.go     a free loopback port; the end of a process's output
//	versions.go  what a run measured: the fourway commit or binary, nats-server, nginx, Nchan
//	writers.go   the writer flags a scenario's server runs with, checked in its GET /api/config
//	nginx.go     nginx as a child, in a prefix of its own
//	fourway.go   the fourway binary (deploy/node): built, started with its flags, ready when healthy, stopped
//	nchan.go     nginx + Nchan from nchan/nginx.conf (nchan/start.sh and stop.sh do it by hand)
//	external.go  -url and -pids: a fourway the bench did not start
//	nats.go      three nats-server routed into one JetStream cluster
//	acks.go      JetStream's publish-to-ack latency, R1 and R3
//	cluster.go   -cluster's setups: nodes on the stream, deploy/nginx.conf in front
//	env.go       Env: what a run's servers share, and how each scenario's server starts
package targets
