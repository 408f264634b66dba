package report

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"

	"fourway/bench/benchtest"
	"fourway/bench/record"
)

// TestCSVRowsHaveTheHeadersFields: report.csv is its header and one row of
// as many fields per result, whether the server's cost was measured or not.
func TestCSVRowsHaveTheHeadersFields(t *testing.T) {
	measured := record.Result{Scenario: benchtest.Short("fourway", "ws"), Server: &record.ServerCost{CPUSeconds: 1}}
	external := record.Result{Scenario: benchtest.Short("fourway", "sse"), ServerNote: record.NotMeasuredExternal}
	var b bytes.Buffer
	if err := writeCSV(&b, []record.Result{measured, external}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 3 || !slices.Equal(recs[0], csvHeader) {
		t.Fatalf("report.csv: %v, %d records, header %q; want the header and 2 rows", err, len(recs), recs[0])
	}
	for i, r := range recs[1:] {
		if len(r) != len(csvHeader) {
			t.Errorf("row %d has %d fields, want the header's %d", i+1, len(r), len(csvHeader))
		}
	}
}
