package report

import (
	"fmt"
	"runtime"
	"strconv"
)

// f1, f2 and f3 write v with one, two and three decimals.
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func f3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// latencyCell writes a latency in milliseconds with three significant
// digits, at most two decimals.
func latencyCell(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return f1(v)
	}
	return f2(v)
}

// procsText is the server's GOMAXPROCS, n or Go's default.
func procsText(n int) string {
	if n > 0 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("default (%d)", runtime.NumCPU())
}

// dash is s, or a dash for nothing.
func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// seconds of server CPU a comparison needs

// pct is how much a is above b, in percent.
func pct(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return (a/b - 1) * 100
}
