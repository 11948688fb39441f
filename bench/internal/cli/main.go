package cli

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

// Report is what a benchmark's run returns.
type Report interface {
	// WriteJSON writes the report to the file path.
	WriteJSON(path string) error
	// WriteMarkdown writes the report's table, and what goes with it.
	WriteMarkdown(w io.Writer) error
}

// Main reads the settings of c from the command line args and runs the
// benchmark with them on a context that SIGINT and SIGTERM cancel,
// progress to stderr. It writes the JSON report where the settings say
// (a relative file into the repository, wherever the benchmark runs
// from), prints the table to stdout, and returns the exit code: 2 for a
// command line that is wrong, 1 for a run that failed.
func Main[O Settings, R Report](c Command[O], args []string, stdout, stderr io.Writer, run func(ctx context.Context, o O, progress io.Writer) (R, error)) int {
	o, err := c.Parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", c.Name, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o, stderr)
	if err == nil {
		err = writeJSON(rep, c.Common(&o), stderr)
	}
	if err == nil {
		err = rep.WriteMarkdown(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", c.Name, err)
		return 1
	}
	return 0
}

// writeJSON writes rep where o says, if anywhere, and says where to
// stderr.
func writeJSON(rep Report, o *Common, stderr io.Writer) error {
	out := o.Out
	if out == "" {
		return nil
	}
	if !filepath.IsAbs(out) {
		root, err := fleet.FindRoot(o.Repo)
		if err != nil {
			return err
		}
		out = filepath.Join(root, out)
	}
	if err := rep.WriteJSON(out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s\n", out)
	return nil
}
