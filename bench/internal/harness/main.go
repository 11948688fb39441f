package harness

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"tollgate.dev/tollgate/bench/internal/cli"
	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/report"
)

// Main runs the benchmark with the command line args, prints the table to
// stdout and progress to stderr, writes the JSON report, and returns the
// exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	return cli.Main(command, args, stdout, stderr, func(ctx context.Context, o Options, progress io.Writer) (*report.Report, error) {
		if ts := fleet.Taskset(); o.Pin && ts != "" && runtime.NumCPU() >= 2 {
			// Keep the load generator off the proxies' CPU.
			if err := fleet.PinSelf(ts, cpuLoad); err != nil {
				fmt.Fprintf(progress, "%s: the load generator runs unpinned: %v\n", command.Name, err)
			}
		}
		return Run(ctx, o, progress)
	})
}
