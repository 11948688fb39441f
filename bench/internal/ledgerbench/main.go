package ledgerbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"path/filepath"
	"syscall"

	"tollgate.dev/tollgate/bench/internal/fleet"
)

// Main runs the benchmark with the command line args, prints the table to
// stdout and progress to stderr, writes the JSON report, and returns the
// exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	o, err := Parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "tollgate-ledger-bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := Run(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "tollgate-ledger-bench: %v\n", err)
		return 1
	}
	if o.Out != "" {
		out := o.Out
		if !filepath.IsAbs(out) {
			// Relative to the repository, wherever the benchmark runs from.
			root, err := fleet.FindRoot(o.Repo)
			if err != nil {
				fmt.Fprintf(stderr, "tollgate-ledger-bench: %v\n", err)
				return 1
			}
			out = filepath.Join(root, out)
		}
		if err := rep.WriteJSON(out); err != nil {
			fmt.Fprintf(stderr, "tollgate-ledger-bench: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "wrote %s\n", out)
	}
	if err := rep.WriteMarkdown(stdout); err != nil {
		fmt.Fprintf(stderr, "tollgate-ledger-bench: %v\n", err)
		return 1
	}
	return 0
}
