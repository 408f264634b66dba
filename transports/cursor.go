package transports

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// A cursor is the last id a client already has, and the epoch names the id
// sequence it belongs to. Absent means "start now"; N means "everything
// after N", 0 included ("after id 0": everything, with a missed notice for
// what is no longer retained). A cursor from another epoch (the server
// restarted and its ids started over) is answered with a reset.

// position is where a reader stands in the feed.
type position struct {
	epoch  string // "" when the client did not say: no epoch check
	cursor uint64
}

const maxEpoch = 32 // bytes in an epoch

// parseCursor reads a cursor. ok is false when s is empty (no cursor).
// Anything but a plain decimal integer is an error: no sign, no fraction.
func parseCursor(name, s string) (cursor uint64, ok bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s must be a message id (a whole number, 0 or more), not %q", name, s)
	}
	return n, true, nil
}

// parseEpoch checks an epoch: 1 to 32 letters, digits, - or _ ("" is none).
func parseEpoch(name, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) > maxEpoch || strings.TrimLeft(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return "", fmt.Errorf("%s must be an epoch as the server sent it (1 to %d letters, digits, - or _), not %q", name, maxEpoch, s)
	}
	return s, nil
}

// parseEventID reads an SSE event id as fourway writes it, "epoch:cursor",
// or a bare cursor (then with no epoch check), as curl users type it.
func parseEventID(name, s string) (position, error) {
	epoch, cursor, found := strings.Cut(s, ":")
	if !found {
		epoch, cursor = "", s
	} else if epoch == "" {
		return position{}, fmt.Errorf("%s must be epoch:id or id, not %q", name, s)
	}
	e, err := parseEpoch(name, epoch)
	if err != nil {
		return position{}, err
	}
	n, _, err := parseCursor(name, cursor)
	if err != nil || cursor == "" {
		return position{}, fmt.Errorf("%s must be epoch:id or id, not %q", name, s)
	}
	return position{epoch: e, cursor: n}, nil
}

// eventID is the SSE id of a position: "epoch:cursor".
func eventID(epoch string, cursor uint64) []byte {
	return strconv.AppendUint(append([]byte(epoch), ':'), cursor, 10)
}

// parseInt reads an optional whole-number query parameter within [lo, hi].
func parseInt(c echo.Context, name string, def, lo, hi int) (int, error) {
	s := c.QueryParam(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be a whole number from %d to %d, not %q", name, lo, hi, s)
	}
	return n, nil
}

// startPosition resolves where a request starts reading, from ?since= and
// ?epoch= (and, when given, the header named, Last-Event-ID, which wins
// with the epoch it carries). Absent means the feed's last id, so the
// client gets only what is published after it arrived. Everything is
// checked, so a malformed value is refused even when another one wins.
func (s *Server) startPosition(c echo.Context, header string) (position, error) {
	n, ok, err := parseCursor("since", c.QueryParam("since"))
	if err != nil {
		return position{}, err
	}
	epoch, err := parseEpoch("epoch", c.QueryParam("epoch"))
	if err != nil {
		return position{}, err
	}
	if header != "" {
		if v := c.Request().Header.Get(header); v != "" {
			return parseEventID(header, v)
		}
	}
	if !ok {
		return position{epoch: s.feed.Epoch(), cursor: s.feed.LastID()}, nil
	}
	return position{epoch: epoch, cursor: n}, nil
}
