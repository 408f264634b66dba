package load

import "context"

// Server is a running server under test.
type Server struct {
	Base string
	// Parts returns the processes that make up the server, each with the
	// processes whose CPU is its and those whose resident memory is: one
	// for a fourway child, master and workers for nginx, every node, NATS
	// server and the proxy for a cluster. nil when the server is not
	// local and no -pids were given.
	Parts func() []ProcPart
	// Primed, when set, is called with the primer's id before any
	// subscriber starts: several nodes behind one URL wait until each has
	// the primer, so a subscriber starting from it is on time on any node.
	Primed func(ctx context.Context, cursor string) error
	Stop   func() error
	// Restart, when set, kills the server's process and starts it again
	// where it listened, and returns once it serves (-storm restart).
	Restart func(ctx context.Context) error
	// Nodes are the fourway nodes the bench started for it, whose
	// /api/stats together count every byte of the row (serverbytes.go);
	// none for Nchan and for a server the bench did not start.
	Nodes []string
}

// ProcPart is one process of the server (or a process and its children,
// nginx's master and workers), as the report shows it.
type ProcPart struct {
	Name string
	CPU  []int // processes whose CPU is the part's
	RSS  []int // processes whose resident memory is the part's
}

// partsCPU reads the CPU seconds of every part, and their sum, and says
// how many processes it read.
func (s *Server) partsCPU() (sum float64, each []float64, procs int, ok bool) {
	if s.Parts == nil {
		return 0, nil, 0, false
	}
	for _, p := range s.Parts() {
		var c float64
		for _, pid := range p.CPU {
			v, err := procCPU(pid)
			if err != nil {
				return 0, nil, 0, false
			}
			c += v
			procs++
		}
		each = append(each, c)
		sum += c
	}
	return sum, each, procs, true
}

// rss is the resident memory of every part, summed.
func (s *Server) rss() (int64, bool) {
	if s.Parts == nil {
		return 0, false
	}
	var sum int64
	for _, p := range s.Parts() {
		for _, pid := range p.RSS {
			r, err := procRSS(pid)
			if err != nil {
				return 0, false
			}
			sum += r
		}
	}
	return sum, true
}

// partNames are the names of the server's parts, in order.
func (s *Server) partNames() []string {
	if s.Parts == nil {
		return nil
	}
	var out []string
	for _, p := range s.Parts() {
		out = append(out, p.Name)
	}
	return out
}
