package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"fourway/bench/record"
)

// Write writes the report into dir: report.json, report.csv, report.html,
// report.md, and the charts latency.svg, bytes.svg and, for a sweep,
// scaling.svg.
func Write(dir string, rep record.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "report.csv"))
	if err != nil {
		return err
	}
	if err := writeCSV(f, rep.Results); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.html"), []byte(renderHTML(rep)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "latency.svg"), []byte(latencyChart(rep.Results, true)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bytes.svg"), []byte(bytesChart(rep.Results, true)), 0o644); err != nil {
		return err
	}
	if sc := scalingChart(rep.Results, true); sc != "" {
		if err := os.WriteFile(filepath.Join(dir, "scaling.svg"), []byte(sc), 0o644); err != nil {
			return err
		}
	}
	var md strings.Builder
	writeMarkdown(&md, rep, "latency.svg")
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(md.String()), 0o644)
}

// Command is the bench's command line as a POSIX shell takes it, to be
// run again.
func Command(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:,=+-@%") != "" {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'" // quoted for a POSIX shell
		}
		q[i] = a
	}
	return strings.TrimSpace("go run ./bench " + strings.Join(q, " "))
}
