package plan

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"fourway/transports/links"
)

// Flags are the bench's flags that Check reads into a Config: the lists,
// whose text it splits, and -pids and -setups; the others are set on the
// Config itself, and Check refuses what cannot run together.
type Flags struct {
	PIDs, Setups                      string
	Targets, Transports, Protos, Plan string
	Subs, Rates, Payloads             string
	Links                             string // -link or -links
	TransportsSet                     bool   // -transports was given: -url and -cluster keep it
}

// Check completes c from the flags and refuses what cannot run, saying
// why, in the order a reader of the flags would look: the server, the
// lists, the names in them, then the rest.
func (f Flags) Check(c *Config) error {
	if err := f.readServer(c); err != nil {
		return err
	}
	if err := f.readProtos(c); err != nil {
		return err
	}
	if err := f.readLists(c); err != nil {
		return err
	}
	if err := c.checkNames(); err != nil {
		return err
	}
	if err := f.readLinks(c); err != nil {
		return err
	}
	if err := c.checkFaults(); err != nil {
		return err
	}
	return c.checkSettings()
}

// readLinks reads -link and -links: names of transports/links' profiles,
// each once.
func (f Flags) readLinks(c *Config) error {
	for _, name := range splitList(f.Links) {
		if _, err := links.Lookup(name); err != nil {
			return fmt.Errorf("-links: %w", err)
		}
		if slices.Contains(c.Links, name) {
			return fmt.Errorf("-links: %s named twice", name)
		}
		c.Links = append(c.Links, name)
	}
	return nil
}

// readServer checks -url, -fourway and -pids, and reads -setups with
// -cluster.
func (f Flags) readServer(c *Config) error {
	if c.URL != "" {
		if err := checkURL(c.URL); err != nil {
			return err
		}
	}
	if c.Fourway != "" {
		if c.URL != "" {
			return errors.New("-fourway names the server the bench starts, and with -url it starts none")
		}
		if st, err := os.Stat(c.Fourway); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("-fourway %q: not an executable file (%v)", c.Fourway, err)
		}
	}
	if f.PIDs != "" {
		if c.URL == "" {
			return errors.New("-pids: only with -url (the bench reads the CPU of the servers it starts itself)")
		}
		var err error
		if c.PIDs, err = parsePIDs(f.PIDs); err != nil {
			return err
		}
	}
	if !c.Cluster {
		c.NatsServer, c.Acks = "", 0
		return nil
	}
	for _, s := range splitList(f.Setups) {
		if !slices.Contains(ClusterSetups, s) {
			return fmt.Errorf("-setups: %q is not one of %s", s, strings.Join(ClusterSetups, ", "))
		}
		if slices.Contains(c.Setups, s) {
			return fmt.Errorf("-setups: %s named twice", s)
		}
		c.Setups = append(c.Setups, s)
	}
	if len(c.Setups) == 0 {
		return errors.New("-setups names no setup")
	}
	return nil
}

// readProtos reads -target, -transports and -proto, and checks each
// protocol against the targets, -url and the writer rows.
func (f Flags) readProtos(c *Config) error {
	c.Targets = splitList(f.Targets)
	c.Transports = splitList(f.Transports)
	c.Protos = splitList(f.Protos)
	if len(c.Protos) == 0 {
		return errNoProto
	}
	for _, p := range c.Protos {
		if err := checkProto(p); err != nil {
			return err
		}
		if p == "h2c" && slices.Contains(c.Targets, "nchan") {
			return errors.New("-proto h2c: not with -target nchan: nginx's cleartext http2 listener speaks only HTTP/2, so Nchan's WebSocket could not share it")
		}
		if c.URL != "" && !strings.HasPrefix(c.URL, SchemeFor(p)+"://") {
			return fmt.Errorf("-proto %s needs a %s:// -url", p, SchemeFor(p))
		}
	}
	if err := checkDirectProtos(c.Protos, f.Plan, c.Transports, f.TransportsSet); err != nil {
		return err
	}
	if (c.URL != "" || c.Cluster) && !f.TransportsSet {
		c.Transports = AllTransports
	}
	return nil
}

// readLists reads -subs, -payload, -rate and -plan.
func (f Flags) readLists(c *Config) error {
	var err error
	if c.Subs, err = intList("subs", f.Subs); err != nil {
		return err
	}
	first := PlanItem{} // the first payload: a -plan entry's when it names none
	for _, p := range splitList(f.Payloads) {
		n, kind, err := parsePayload(p)
		if err != nil {
			return fmt.Errorf("-payload: %w", err)
		}
		if first.Payload == 0 {
			first.Payload, first.PayloadKind = n, kind
		}
		if kind != "" {
			c.PayloadKinds = append(c.PayloadKinds, kind)
		} else {
			c.Payloads = append(c.Payloads, n)
		}
	}
	for _, s := range splitList(f.Rates) {
		r, err := strconv.ParseFloat(s, 64)
		if err != nil || r <= 0 {
			return fmt.Errorf("-rate: %q is not a positive number", s)
		}
		c.Rates = append(c.Rates, r)
	}
	if f.Plan != "" && first.Payload > 0 {
		if c.Plan, err = parsePlan(f.Plan, first); err != nil {
			return err
		}
	}
	return nil
}

// checkNames checks the targets and the transports.
func (c *Config) checkNames() error {
	for _, t := range c.Targets {
		if t != "fourway" && t != "nchan" {
			return fmt.Errorf("-target: %q is neither fourway nor nchan", t)
		}
		if t == "nchan" && c.URL != "" {
			return errors.New("-url measures a running fourway; it cannot be combined with -target nchan")
		}
	}
	for _, t := range c.Transports {
		if err := checkTransport(t); err != nil {
			return fmt.Errorf("-transports: %w", err)
		}
	}
	return nil
}

// checkSettings checks that every list has a value, the durations and
// counts, and what -cluster and -url cannot be combined with.
func (c *Config) checkSettings() error {
	switch {
	case len(c.Targets) == 0 || len(c.Transports) == 0 || len(c.Subs) == 0 || len(c.Rates) == 0 || len(c.Payloads)+len(c.PayloadKinds) == 0:
		return errors.New("-target, -transports, -subs, -rate and -payload need at least one value")
	case c.PollInterval <= 0 || c.Duration <= 0 || c.Warmup < 0 || c.Stagger < 0:
		return errors.New("-poll-interval and -duration must be positive, -warmup and -stagger not negative")
	case c.Publishers < 1:
		return errors.New("-publishers must be at least 1")
	case c.Rounds < 1:
		return fmt.Errorf("-rounds must be at least 1, not %d", c.Rounds)
	case c.ClientHeaders != "go" && c.ClientHeaders != "browser":
		return errors.New(`-client-headers must be "go" or "browser"`)
	case c.SourceAddrs < -1 || c.SourceAddrs > MaxSourceAddrs:
		return fmt.Errorf("-source-addrs must be -1 (automatic), 0 (none) or up to %d", MaxSourceAddrs)
	}
	if c.Cluster {
		switch {
		case c.URL != "":
			return errors.New("-cluster starts its own servers; it cannot be combined with -url")
		case len(c.Targets) != 1 || c.Targets[0] != "fourway":
			return errors.New("-cluster measures fourway; it cannot be combined with -target nchan")
		case len(c.Protos) != 1 || c.Protos[0] != "h1":
			return errors.New("-cluster runs over plain HTTP/1.1 (deploy/nginx.conf listens without TLS); it cannot be combined with -proto")
		case c.Acks < 0:
			return errors.New("-acks must be 0 (none) or more")
		}
	}
	if c.URL != "" && c.SourceAddrs > 0 && !loopbackURL(c.URL) {
		return errors.New("-source-addrs: the subscribers can dial from loopback addresses only to a server on loopback")
	}
	return nil
}

// splitList splits a comma-separated flag, leaving out empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// intList reads a comma-separated flag of positive whole numbers.
func intList(name, s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-%s: %q is not a positive whole number", name, f)
		}
		out = append(out, n)
	}
	return out, nil
}

// checkURL refuses a -url that cannot name a fourway: not http(s), no
// host, or a query or fragment the bench's paths would be appended after.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("-url %q: want an http:// or https:// base URL, such as http://127.0.0.1:8080", raw)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("-url %q: no host", raw)
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		return fmt.Errorf("-url %q: a base URL has no query or fragment: the bench appends /api/... to it", raw)
	case u.User != nil:
		return fmt.Errorf("-url %q: no user information in the URL", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("-url %q: port %q is not 1 to 65535", raw, p)
		}
	}
	return nil
}

// parsePIDs reads -pids: process ids, comma-separated, each a process
// running now.
func parsePIDs(s string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-pids: %q is not a process id", f)
		}
		if _, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n)); err != nil {
			return nil, fmt.Errorf("-pids: no process %d to read (/proc/%d/stat): %v", n, n, err)
		}
		if seen[n] {
			return nil, fmt.Errorf("-pids: %d given twice", n)
		}
		seen[n] = true
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-pids %q names no process", s)
	}
	return out, nil
}

// parsePlan reads "ws,sse:1000:100;ws+sse:1000:100;longpoll:1000:10[:payload]".
// A comma separates scenarios of their own, each on a fresh server; a plus
// joins transports into one mixed scenario on one server. The payload is
// a size or a payload kind ("ws:1000:100:json4k"); an entry without one
// takes def's.
func parsePlan(s string, def PlanItem) ([]PlanItem, error) {
	var plan []PlanItem
	for _, item := range strings.Split(s, ";") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		f := strings.Split(item, ":")
		if len(f) < 3 || len(f) > 4 {
			return nil, fmt.Errorf("-plan: %q is not transports:subs:rate[:payload]", item)
		}
		p := PlanItem{Transports: splitList(f[0]), Payload: def.Payload, PayloadKind: def.PayloadKind}
		var err error
		if p.Subs, err = strconv.Atoi(f[1]); err != nil || p.Subs < 1 {
			return nil, fmt.Errorf("-plan: %q: subscribers must be a positive whole number", item)
		}
		if p.Rate, err = strconv.ParseFloat(f[2], 64); err != nil || p.Rate <= 0 {
			return nil, fmt.Errorf("-plan: %q: rate must be a positive number", item)
		}
		if len(f) == 4 {
			if p.Payload, p.PayloadKind, err = parsePayload(f[3]); err != nil {
				return nil, fmt.Errorf("-plan: %q: payload %w", item, err)
			}
		}
		if len(p.Transports) == 0 {
			return nil, fmt.Errorf("-plan: %q names no transport", item)
		}
		for _, t := range p.Transports {
			if err := checkTransport(t); err != nil {
				return nil, fmt.Errorf("-plan: %w", err)
			}
		}
		plan = append(plan, p)
	}
	return plan, nil
}

// checkDirectProtos refuses a writer row over a protocol its direct
// writer does not serve (sse-direct over HTTP/2, longpoll-direct over
// TLS or HTTP/2) when the row was asked for by name: the server would
// serve the base's writer, and the row would not be what it says. The
// default transports leave such rows out (Scenarios), as the legend
// says.
func checkDirectProtos(protos []string, plan string, trs []string, transportsSet bool) error {
	for _, p := range protos {
		for _, w := range WriterRows {
			named := strings.Contains(plan, w.Name)
			if transportsSet && plan == "" {
				for _, t := range trs {
					named = named || slices.Contains(strings.Split(t, "+"), w.Name)
				}
			}
			if named && !slices.Contains(w.Protos, p) {
				return fmt.Errorf("-proto %s: %s cannot run over %s (%s): measure %s over %s, %s over %s",
					p, w.Name, w.NotOver, w.Why, w.Base, p, w.Name, JoinOr(w.Protos))
			}
		}
	}
	return nil
}
