package record

// Outage is what a row's subscribers met when their link went silent
// (-outage): every byte held, both ways, nothing closed, then delivered
// when the link came back. A client learns of such a silence only by a
// rule of its own (a heartbeat, a watchdog, a request's deadline), and
// Rule says the page's, which the bench's clients follow.
type Outage struct {
	SilentMS float64 `json:"silent_ms"` // how long the link was silent
	// AtMS is when the silence began, after the window's start: 0 for
	// -outage's, and a train's first; a train's later ones a minute
	// apart.
	AtMS        float64 `json:"at_ms"`
	Rule        string  `json:"rule"` // how this transport's page client finds a dead connection
	Subscribers int     `json:"subscribers"`
	// Noticed are the subscribers that gave a connection up as dead while
	// the link was silent, How the first one's rule ("watchdog",
	// "deadline"), and NoticeMS the time from the silence to that, over
	// them. NoticedAfter gave one up only once the link was back.
	Noticed      int    `json:"noticed"`
	How          string `json:"how,omitempty"`
	NoticeMS     Spread `json:"notice_ms"`
	NoticedAfter int    `json:"noticed_after_return"`
	// CaughtUp are the subscribers that got every message, and CaughtUpMS
	// the time from the link's return until each had the last of those
	// meant to be sent before it (0 when none was outstanding).
	CaughtUp   int    `json:"caught_up"`
	CaughtUpMS Spread `json:"caught_up_ms"`
}

// Spread is the least, the median and the most of a few figures, and how
// many there are.
type Spread struct {
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// Storm is what a row's subscribers met when every connection was cut at
// once (-storm): how long until they were served again, each by a hello
// or an answer of the server's, and the server's busiest moment meanwhile.
type Storm struct {
	Kind        string `json:"kind"` // "cut" (the server dropped them) or "restart" (its process killed and started again)
	Herd        bool   `json:"herd"` // the clients retried without jitter
	Subscribers int    `json:"subscribers"`
	Served      int    `json:"served"` // served again before the run ended
	// ServedMS are the times from the cut until 50 %, 99 % and 100 % of
	// the subscribers were served again; -1 where that many never were.
	ServedMS [3]float64 `json:"served_50_99_100_ms"`
	// PeakCPU is the server's busiest interval after the cut, in cores
	// (CPU seconds per second), over intervals of CPUIntervalMS; 0 when
	// its CPU could not be read.
	PeakCPU       float64 `json:"peak_server_cpu_cores"`
	CPUIntervalMS float64 `json:"cpu_interval_ms"`
	// Error is why the cut or the restart failed, if it did.
	Error string `json:"error,omitempty"`
}
