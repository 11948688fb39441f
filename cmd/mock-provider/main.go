// Command mock-provider serves a fault-injecting fake LLM provider (OpenAI,
// Anthropic, Gemini shapes) for demos and benchmarks; see
// internal/testkit/mockprovider for the scripting API under /_mock/.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := mockprovider.Main(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mock-provider:", err)
		stop()
		os.Exit(1)
	}
}
