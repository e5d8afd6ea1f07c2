// Command managed is the program both supervisord and ocp-agent manage in
// the benchmark (make bench), so that they are compared on identical
// work: it does nothing but wait, in one of three modes.
//
//	managed -mode term             exits 0 on SIGTERM
//	managed -mode ignore [-mark F] ignores SIGTERM (only SIGKILL ends it),
//	                               writing the CLOCK_MONOTONIC time of each
//	                               SIGTERM to F, in nanoseconds
//	managed -mode listen [-port N] listens on 127.0.0.1:N (0: any port) and
//	                               exits 0 on SIGTERM
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	mode := flag.String("mode", "term", "term, ignore or listen")
	port := flag.Int("port", 0, "listen: the TCP port on 127.0.0.1 (0: any)")
	mark := flag.String("mark", "", "ignore: file to write the time of each SIGTERM to")
	flag.Parse()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM)
	switch *mode {
	case "term":
	case "listen":
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer ln.Close()
	case "ignore":
		for range sigs {
			var ts unix.Timespec
			_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
			if *mark != "" {
				_ = os.WriteFile(*mark, []byte(strconv.FormatInt(ts.Nano(), 10)+"\n"), 0o644)
			}
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", *mode)
		os.Exit(2)
	}
	<-sigs
}
