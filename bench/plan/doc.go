// Package plan says what a bench run measures: the flags read into a
// configuration and checked, the scenarios planned from it, and the names
// every row is keyed by (transports, writer rows, protocols, setups). It
// imports nothing of the bench's own.
//
// Its files, each using only those above it:
//
//	writers.go   the writer rows (sse-direct, longpoll-direct) and the transports they are measured beside
//	names.go     transports and mixed scenarios, protocols, and the setups of -cluster
//	config.go    Config, a run's configuration as its report records it
//	scenario.go  Scenario, one measured run, and Scenarios, those a Config asks for, in order
//	faults.go    the faults' flags checked: -outage (a silent link), -storm and -herd (every connection cut at once)
//	flags.go     Flags: the flags' text read into a Config, refused when it cannot run
package plan
