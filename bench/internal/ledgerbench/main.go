package ledgerbench

import (
	"io"

	"tollgate.dev/tollgate/bench/internal/cli"
)

// Main runs the benchmark with the command line args, prints the table to
// stdout and progress to stderr, writes the JSON report, and returns the
// exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	return cli.Main(command, args, stdout, stderr, Run)
}
