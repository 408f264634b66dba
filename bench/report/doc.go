// Package report writes what a bench run measured: the text tables on
// stdout, and report.json, report.csv, report.md, report.html with its
// inline SVG charts, and the charts as files, in one directory. It reads
// only the run's record and plan, so that -render can write a report again
// from its report.json.
//
// Its files, each using only those above it:
//
//	format.go    numbers as the tables write them; text tables within 120 columns, and prose wrapped to them
//	uncertainty.go  figures to the digits they support: percentiles, CPU per delivery, the spread between runs
//	legend.go    what a row's name alone does not say: writers, protocols, mixed scenarios
//	classic.go   the 2010 article's table, and the same computation from the bytes measured
//	speed.go     the speed targets, checked against the rows
//	acks.go      JetStream's publish-to-ack latency, as text, Markdown and HTML
//	procs.go     the server's CPU process by process, as text, Markdown and HTML
//	faults.go    what the rows met of a fault (-outage), as text and Markdown
//	table.go     the text tables on stdout
//	csv.go       report.csv
//	markdown.go  report.md, a README section
//	svg.go       the charts, hand-written SVG
//	html.go      report.html, one page that loads nothing
//	files.go     Write: every file of the report; Command, the command as a shell takes it
package report
