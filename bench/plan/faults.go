package plan

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"fourway/transports/links"
)

// StormKinds are the ways -storm cuts every connection at once: "cut",
// the server drops them all (fourway's POST /api/drop?transport=all) and
// goes on, its feed with it; "restart", its process is killed and started
// again where it listened, its in-memory feed lost.
var StormKinds = []string{"cut", "restart"}

// checkFaults refuses an -outage, -storm or -herd that cannot be measured.
func (c *Config) checkFaults() error {
	if err := c.checkOutage(); err != nil {
		return err
	}
	return c.checkStorm()
}

// checkOutage refuses an -outage that cannot be measured: the link is
// what goes silent, so there must be one; and the window must hold the
// outage and the link's return.
func (c *Config) checkOutage() error {
	switch d := time.Duration(c.Outage); {
	case d == 0:
		return nil
	case d < 0:
		return fmt.Errorf("-outage %s: a silence lasts a positive time, such as 20s", d)
	case len(c.Links) == 0:
		return errors.New("-outage: the link is what goes silent: name one with -link (-link 3g)")
	case slices.ContainsFunc(c.Links, goesSilent):
		p, _ := links.Lookup(c.Links[slices.IndexFunc(c.Links, goesSilent)])
		return fmt.Errorf("-outage: not with -link %s: that link goes silent by itself, %s every %s from the window's start, and its rows report each silence as -outage's are; measure it without -outage", p.Name, p.OutageFor, p.OutageEvery)
	case time.Duration(c.Duration) <= d:
		return fmt.Errorf("-outage %s: the window (-duration %s) must be longer than the outage: it holds the silence and the link's return", d, time.Duration(c.Duration))
	}
	return nil
}

// goesSilent reports whether the link name goes silent by itself.
func goesSilent(name string) bool {
	p, err := links.Lookup(name)
	return err == nil && p.OutageEvery > 0
}

// checkStorm refuses a -storm the bench cannot raise: an unknown kind,
// one beside -outage (one fault a row), a server the bench did not start
// (it cannot restart it), and -herd without a storm to herd.
func (c *Config) checkStorm() error {
	switch {
	case c.Storm == "":
		if c.Herd {
			return errors.New("-herd: the clients come back as a herd after a -storm; name one (-storm cut)")
		}
		return nil
	case !slices.Contains(StormKinds, c.Storm):
		return fmt.Errorf("-storm %q: want cut (the server drops every connection) or restart (its process killed and started again)", c.Storm)
	case c.Outage > 0:
		return errors.New("-storm and -outage: one fault a row; measure them in two runs")
	case slices.ContainsFunc(c.Links, goesSilent):
		return errors.New("-storm: not with -link train, which goes silent by itself: one fault a row; measure them in two runs")
	case c.Cluster:
		return errors.New("-storm: not with -cluster: it cuts or restarts one server")
	case c.URL != "" && c.Storm == "restart":
		return errors.New("-storm restart: not with -url: the bench restarts only a server it started")
	case c.Storm == "cut" && slices.Contains(c.Targets, "nchan"):
		return errors.New("-storm cut: Nchan has no call that drops its subscribers: measure it with -storm restart (nginx killed and started again)")
	}
	return nil
}
