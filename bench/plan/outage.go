package plan

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// checkOutage refuses an -outage that cannot be measured: the link is
// what goes silent, so there must be one; the clients that notice are
// the page's, which speak fourway's contract; and the window must hold
// the outage and the link's return.
func (c *Config) checkOutage() error {
	switch d := time.Duration(c.Outage); {
	case d == 0:
		return nil
	case d < 0:
		return fmt.Errorf("-outage %s: a silence lasts a positive time, such as 20s", d)
	case len(c.Links) == 0:
		return errors.New("-outage: the link is what goes silent: name one with -link (-link 3g)")
	case slices.Contains(c.Targets, "nchan"):
		return errors.New("-outage: fourway only: the bench's Nchan clients have no heartbeat or watchdog of the page's to notice a silence with")
	case time.Duration(c.Duration) <= d:
		return fmt.Errorf("-outage %s: the window (-duration %s) must be longer than the outage: it holds the silence and the link's return", d, time.Duration(c.Duration))
	}
	return nil
}
