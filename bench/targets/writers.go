package targets

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"fourway/bench/load"
	"fourway/bench/plan"
	"fourway/transports/wire"
)

// configuredWriter is where GET /api/config names the writer of each
// writer row, by the row's flag.
var configuredWriter = map[string]func(wire.Config) string{
	"sse-writer":      func(c wire.Config) string { return c.SSE.Writer },
	"longpoll-writer": func(c wire.Config) string { return c.LongPoll.Writer },
}

// writersFor is every writer flag of fourway for a scenario, as
// childConfig.Writers takes them.
func writersFor(sc plan.Scenario) map[string]string {
	m := map[string]string{}
	for _, w := range plan.WriterRows {
		m[w.Flag] = w.WriterFor(sc)
	}
	return m
}

// concerned are the writer rows whose writer a scenario depends on: it
// measures the row or its base.
func concerned(sc plan.Scenario) []plan.WriterRow {
	var out []plan.WriterRow
	trs := sc.Transports()
	for _, w := range plan.WriterRows {
		if slices.Contains(trs, w.Name) || slices.Contains(trs, w.Base) {
			out = append(out, w)
		}
	}
	return out
}

// writerFlags are the flags a fourway measured for the scenario runs
// with, for an error that says which server to start:
// "--longpoll-writer direct".
func writerFlags(sc plan.Scenario) string {
	var f []string
	for _, w := range concerned(sc) {
		f = append(f, "--"+w.Flag+" "+w.WriterFor(sc))
	}
	return strings.Join(f, " ")
}

// fourwayConfig is a fourway server's GET /api/config.
func fourwayConfig(ctx context.Context, base, proto string) (wire.Config, error) {
	var c wire.Config
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/config", nil)
	if err != nil {
		return c, err
	}
	client := load.PublisherClient(proto, 1)
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return c, fmt.Errorf("GET /api/config: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != http.StatusOK {
		return c, fmt.Errorf("GET /api/config: %s %v", resp.Status, err)
	}
	return c, nil
}

// checkWriters makes sure the server measured for a scenario runs the
// writers its rows are named after: sse the library's, sse-direct the
// direct one; longpoll net/http's, longpoll-direct the direct one.
func checkWriters(ctx context.Context, base string, sc plan.Scenario) error {
	rows := concerned(sc)
	if len(rows) == 0 {
		return nil
	}
	c, err := fourwayConfig(ctx, base, sc.Proto)
	if err != nil {
		return err
	}
	for _, w := range rows {
		got, want := configuredWriter[w.Flag](c), w.WriterFor(sc)
		if got == "" {
			return fmt.Errorf("GET /api/config names no %s (%s): a fourway from before --%s", w.Writer, w.Field, w.Flag)
		}
		if got != want {
			row := w.Base
			if slices.Contains(sc.Transports(), w.Name) {
				row = w.Name
			}
			if sc.Mixed != "" {
				row += " in " + sc.Mixed
			}
			return fmt.Errorf("the server's %s is %q (%s in GET /api/config), but %s measures %q", w.Writer, got, w.Field, row, want)
		}
	}
	return nil
}
