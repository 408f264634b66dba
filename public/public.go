// Package public holds the page, embedded in the binary so that `go run .`
// serves it with nothing else on disk.
package public

import "embed"

// Files is the page: index.html and what it loads, at the top of the FS.
//
//go:embed *.html *.js *.css bench-report.json links-bench.json
var Files embed.FS
