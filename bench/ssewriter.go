package main

import (
	"errors"
	"fmt"

	"fourway/transports"
)

// setSSEWriter sets the server's SSE writer, as fourway's --sse-writer
// does: "" or "r3labs" (the default) or "direct".
//
// The fourway this branch builds has no --sse-writer yet
// (transports.Config.SSEWriter): until it lands, only the default serves.
func setSSEWriter(cfg *transports.Config, w string) error {
	_ = cfg
	switch w {
	case "", "r3labs":
		return nil
	case "direct":
		return errors.New(errNoSSEWriter)
	}
	return fmt.Errorf("--sse-writer %q is neither r3labs nor direct", w)
}

const errNoSSEWriter = "this fourway has no --sse-writer (transports.Config.SSEWriter): sse-direct cannot be served"
