package report

import (
	"strings"
	"testing"

	"fourway/bench/record"
)

// TestHTMLHasTheServerCountedOverhead: report.html has the table of what
// fourway counted of each row's overhead that report.md has, with the
// same figures.
func TestHTMLHasTheServerCountedOverhead(t *testing.T) {
	r := fullRow("fourway", "longpoll", "h1", 50, 20)
	r.Wire.OverheadPerMsg, r.Wire.ServerHeadersPerMsg, r.Wire.ServerFramesPerMsg, r.Wire.ServerFramingPerMsg, r.Wire.ServerHeartbeatsPerMsg = 411.0, 367.2, 0, 1.5, 0.25
	rep := record.Report{Results: []record.Result{r}}
	var md strings.Builder
	writeMarkdown(&md, rep, "")
	page := renderHTML(rep)
	for _, want := range append(serverSplitHead, "367.2", "1.5", "0.2") {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report.md lacks %q", want)
		}
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if !strings.Contains(page, "as the server counted it") {
		t.Error("report.html has no server-counted table")
	}
}
