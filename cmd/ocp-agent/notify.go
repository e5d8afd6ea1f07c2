package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Messages of the sd_notify protocol the agent sends, as systemd's
// Type=notify expects them: READY once the API serves, STOPPING when a
// shutdown begins, RELOADING then READY around a reload of the config.
const (
	notifyReady     = "READY=1"
	notifyStopping  = "STOPPING=1"
	notifyReloading = "RELOADING=1"
)

// sdNotify sends state to the service manager over the datagram socket
// named by NOTIFY_SOCKET, and does nothing when it is not set (the agent was
// not started by systemd, or by a unit of another Type). It is the protocol
// of sd_notify(3) without libsystemd: one datagram per message, a leading
// '@' naming an abstract socket. A RELOADING message carries MONOTONIC_USEC,
// which systemd 253 and later require to match it with the READY after it.
func sdNotify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	} else if path[0] != '/' {
		return fmt.Errorf("notify systemd: NOTIFY_SOCKET %q is neither a path nor an abstract socket", path)
	}
	if strings.Contains(state, notifyReloading) {
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err == nil {
			state += fmt.Sprintf("\nMONOTONIC_USEC=%d", ts.Nano()/int64(time.Microsecond))
		}
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify systemd: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("notify systemd of %q: %w", state, err)
	}
	return nil
}

// notify tells systemd the agent's state (notifyReady, notifyStopping,
// notifyReloading), logging rather than returning a failure: a unit whose
// manager cannot be told is still better served than stopped.
func notify(log *zap.Logger, state string) {
	if err := sdNotify(state); err != nil {
		log.Warn("cannot notify systemd", zap.String("state", state), zap.Error(err))
	}
}
