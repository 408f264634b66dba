package load

import (
	"fmt"
	"syscall"
)

// Every subscriber holds one socket in the bench and one in the server,
// and both are processes on this machine: each needs an open-file limit
// (RLIMIT_NOFILE, per process) above the connections it holds. Go already
// raises a process's soft limit to its hard limit when it starts; past the
// hard limit only a process allowed to (root, CAP_SYS_RESOURCE) can go.
// The fourway server child inherits the bench's limits when it starts, so
// the bench raises them for it too (targets/fourway.go).

// fileLimit reads and sets RLIMIT_NOFILE; tests give it other functions.
type fileLimit struct {
	get func() (cur, max uint64, err error)
	set func(cur, max uint64) error
}

// processFiles is this process's RLIMIT_NOFILE.
var processFiles = fileLimit{
	get: func() (uint64, uint64, error) {
		var l syscall.Rlimit
		err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
		return l.Cur, l.Max, err
	},
	set: func(cur, max uint64) error {
		return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: cur, Max: max})
	},
}

// RaiseFileLimit makes sure this process, who ("the bench", or "the
// fourway server child", which inherits its limit), may open need files:
// see raiseFileLimit.
func RaiseFileLimit(need uint64, who, why string) error {
	return raiseFileLimit(processFiles, need, who, why)
}

// raiseFileLimit makes sure who (this process, "the bench" or "the fourway
// server child") may open need files: it raises the soft limit, and the
// hard one too when need is above it and the process may. When it cannot,
// it says so, with what would help; the limit is then left as high as it
// could go.
func raiseFileLimit(l fileLimit, need uint64, who, why string) error {
	cur, hard, err := l.get()
	if err != nil {
		return fmt.Errorf("%s: reading the open-file limit: %w", who, err)
	}
	if cur >= need {
		return nil
	}
	if need <= hard {
		if err := l.set(need, hard); err != nil {
			return fmt.Errorf("%s needs %d open files (%s) and could not raise its soft limit from %d to %d: %w", who, need, why, cur, need, err)
		}
		return nil
	}
	err = l.set(need, need)
	if err == nil {
		return nil
	}
	if cur < hard {
		_ = l.set(hard, hard)
	}
	return fmt.Errorf("%s needs %d open files (%s), but its hard limit is %d and raising it failed (%v): run it as root, or raise the hard limit first (ulimit -Hn %d, LimitNOFILE= in a systemd unit, nofile in limits.conf), or run fewer subscribers",
		who, need, why, hard, err, need)
}
