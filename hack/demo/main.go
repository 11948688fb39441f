// Command demo is `make demo`: Tollgate end to end on this machine, as a
// narrated table (see internal/demo). -v also shows the processes' logs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"tollgate.dev/tollgate/internal/demo"
)

func main() {
	verbose := flag.Bool("v", false, "show the logs of the operator and the sidecars")
	keep := flag.Bool("keep", false, "once every step behaved, keep everything running until Ctrl-C")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := demo.Options{Keep: *keep}
	if *verbose {
		opts.Logs = os.Stderr
	}
	if err := demo.Run(ctx, os.Stdout, opts); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		stop()
		os.Exit(1)
	}
}
