package links

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Unlimited is a bandwidth no link limits: the link adds no bandwidth
// toxic in that direction.
const Unlimited = math.MaxInt32

// minKbps is the narrowest bandwidth a link can emulate: Toxiproxy counts
// rates in whole KB/s (1000 bytes), and 8 kbit/s is one.
const minKbps = 8

// Profile is one kind of network, as published presets describe it.
type Profile struct {
	Name string
	// RTT is the round trip the link adds: half of it on the way to the
	// server, half on the way back.
	RTT time.Duration
	// Jitter is how much the round trip varies, up to this either way
	// (half of it in each direction). Neither source gives one: it is 0
	// in every profile of the table, and there for a profile of your own.
	Jitter time.Duration
	// DownKbps and UpKbps are the bandwidths from the server to the
	// client and back, in kbit/s (1000 bits); Unlimited for none. Each
	// connection gets them whole: Toxiproxy limits a connection, not a
	// link shared by several.
	DownKbps, UpKbps int
	// OutageEvery and OutageFor make the link go silent, without closing
	// anything, for OutageFor every OutageEvery (a train through tunnels);
	// 0 for a link that never does on its own.
	OutageEvery, OutageFor time.Duration
}

// Profiles is every link the server and the bench can emulate, in the
// order of their ports (--links): data, with where each number comes from.
// WebPageTest's presets are its connectivity.ini.sample
// (github.com/WPO-Foundation/webpagetest, www/settings/), whose latency is
// the round trip; Chrome DevTools' are in devtools-frontend's
// front_end/core/sdk/NetworkManager.ts, whose latency is added to every
// request, a round trip too. Neither gives a jitter or a loss.
var Profiles = []Profile{
	// No emulation: the proxy's own hop, to compare the others with.
	{Name: "loopback", DownKbps: Unlimited, UpKbps: Unlimited},
	// WebPageTest "Cable (5/1 Mbps 28ms RTT)".
	{Name: "cable", RTT: 28 * time.Millisecond, DownKbps: 5000, UpKbps: 1000},
	// WebPageTest "4G (9 Mbps, 170ms RTT)".
	{Name: "4g", RTT: 170 * time.Millisecond, DownKbps: 9000, UpKbps: 9000},
	// WebPageTest "3G (1.6 Mbps/768 Kbps 300ms RTT)".
	{Name: "3g", RTT: 300 * time.Millisecond, DownKbps: 1600, UpKbps: 768},
	// Chrome DevTools' Slow3GConditions: latency 400 * 5 ms, download
	// and upload 500 * 1000 / 8 * .8 bytes/s, which is 400 kbit/s.
	{Name: "slow-3g", RTT: 2000 * time.Millisecond, DownKbps: 400, UpKbps: 400},
	// WebPageTest's 4G, and a silent outage of 5 s every minute, as a
	// train's passenger meets in tunnels: our own, no preset has one.
	{Name: "train", RTT: 170 * time.Millisecond, DownKbps: 9000, UpKbps: 9000, OutageEvery: time.Minute, OutageFor: 5 * time.Second},
}

// Names are the names of Profiles, in order.
func Names() []string {
	names := make([]string, len(Profiles))
	for i, p := range Profiles {
		names[i] = p.Name
	}
	return names
}

// Lookup returns the profile of Profiles called name, or an error that
// names the ones there are.
func Lookup(name string) (Profile, error) {
	for _, p := range Profiles {
		if p.Name == name {
			return p, nil
		}
	}
	return Profile{}, fmt.Errorf("no link %q: the links are %s", name, strings.Join(Names(), ", "))
}

// Place is the profile's place in Profiles, from 0: a link's port is
// the server's + 1 + its place, whichever other links are on.
func Place(name string) int {
	return slices.IndexFunc(Profiles, func(p Profile) bool { return p.Name == name })
}

// Parse reads a list of link names, comma-separated, or "all"; "" and
// "none" are no link. An unknown or repeated name is an error that names
// it.
func Parse(list string) ([]Profile, error) {
	switch strings.TrimSpace(list) {
	case "", "none":
		return nil, nil
	case "all":
		return slices.Clone(Profiles), nil
	}
	var out []Profile
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		p, err := Lookup(name)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(q Profile) bool { return q.Name == name }) {
			return nil, fmt.Errorf("link %q named twice", name)
		}
		out = append(out, p)
	}
	return out, nil
}

// String says what the profile emulates: "300ms round trip, 1600/768
// kbit/s down/up".
func (p Profile) String() string {
	s := p.RTT.String() + " round trip"
	if p.Jitter > 0 {
		s += " ± " + p.Jitter.String()
	}
	if p.DownKbps == Unlimited && p.UpKbps == Unlimited {
		s += ", bandwidth not limited"
	} else {
		kbps := func(v int) string {
			if v == Unlimited {
				return "not limited"
			}
			return fmt.Sprint(v)
		}
		s += fmt.Sprintf(", %s/%s kbit/s down/up", kbps(p.DownKbps), kbps(p.UpKbps))
	}
	if p.OutageEvery > 0 {
		s += fmt.Sprintf(", silent for %v every %v", p.OutageFor, p.OutageEvery)
	}
	return s
}

// Validate refuses a profile that describes no network: a negative round
// trip, a jitter larger than the round trip, a bandwidth under 8 kbit/s
// (0 carries nothing; Unlimited is the way to say "no limit"), an outage
// that is not shorter than its period. The error names the profile and
// the field.
func (p Profile) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("link %q: "+format, append([]any{p.Name}, a...)...))
	}
	if p.Name == "" || strings.ContainsAny(p.Name, ", \t\n") {
		bad("a name is one word without commas or spaces")
	}
	if p.RTT < 0 {
		bad("round trip %v is negative", p.RTT)
	}
	if p.Jitter < 0 || p.Jitter > p.RTT {
		bad("jitter %v must be from 0 to the round trip, %v", p.Jitter, p.RTT)
	}
	for _, b := range []struct {
		way  string
		kbps int
	}{{"down", p.DownKbps}, {"up", p.UpKbps}} {
		if b.kbps < minKbps {
			bad("%s bandwidth %d kbit/s: at least %d (a link that carries nothing is a tunnel, not a profile; links.Unlimited for no limit)", b.way, b.kbps, minKbps)
		}
	}
	if p.OutageEvery < 0 || p.OutageFor < 0 || (p.OutageEvery == 0) != (p.OutageFor == 0) || (p.OutageEvery > 0 && p.OutageFor >= p.OutageEvery) {
		bad("an outage of %v every %v: both 0, or an outage shorter than its period", p.OutageFor, p.OutageEvery)
	}
	return errors.Join(errs...)
}
