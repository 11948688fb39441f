// Command plainproxy is the benchmark's baseline: a plain
// httputil.ReverseProxy in front of the mock provider. See
// bench/internal/plainproxy.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"tollgate.dev/tollgate/bench/internal/plainproxy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := plainproxy.Main(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "plainproxy:", err)
		stop()
		os.Exit(1)
	}
}
