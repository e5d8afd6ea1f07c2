// Command ocp-demo is a stand-in for a managed program such as obstat2,
// for `make run` and for trying the agent out: it listens on a TCP port,
// answers HTTP with a line of its state, logs to stdout, and exits cleanly
// on SIGTERM after a short, visible shutdown.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	port := flag.Int("p", 8089, "TCP port to listen on")
	host := flag.String("host", "127.0.0.1", "address to listen on")
	linger := flag.Duration("linger", 200*time.Millisecond, "how long shutting down takes after SIGTERM")
	flag.Parse()
	log.SetPrefix(fmt.Sprintf("ocp-demo[%d] ", os.Getpid()))
	started := time.Now()
	srv := &http.Server{
		Addr:              net.JoinHostPort(*host, strconv.Itoa(*port)),
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "ocp-demo pid %d up %s\n", os.Getpid(), time.Since(started).Round(time.Second))
		}),
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Bind first, so that "listening" is only said once it is true and a
	// port in use is the last line the program writes.
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on %s", srv.Addr)
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	<-ctx.Done()
	log.Printf("got a stop signal; shutting down")
	time.Sleep(*linger)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	log.Printf("bye")
}
