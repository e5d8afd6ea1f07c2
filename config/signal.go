package config

import (
	"fmt"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// signalHint lists the usual stop signals for messages.
const signalHint = "TERM, INT, QUIT, HUP, KILL, USR1 or USR2"

// parseSignal reads a signal name, with or without the SIG prefix and in any
// case. Numbers are refused: they differ between systems and say nothing to
// the next reader.
func parseSignal(s string) (syscall.Signal, error) {
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	switch {
	case sig == 0 && s != "" && strings.Trim(s, "0123456789") == "":
		return 0, fmt.Errorf("signal numbers are not accepted; use a name such as %s", signalHint)
	case sig == 0:
		return 0, fmt.Errorf("unknown signal %q; use a name such as %s", short(s), signalHint)
	case sig == syscall.SIGSTOP:
		return 0, fmt.Errorf("STOP suspends a process rather than ending it; use a name such as %s", signalHint)
	}
	return sig, nil
}
