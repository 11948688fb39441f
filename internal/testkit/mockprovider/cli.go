package mockprovider

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// Flags are the mock-provider binary's command-line flags.
type Flags struct {
	// Listen is the address to serve on.
	Listen string
	// Latency is the default step's FirstByteDelay.
	Latency time.Duration
	// ChunkDelay is the default step's ChunkDelay.
	ChunkDelay time.Duration
	// Chunks is the default step's Chunks.
	Chunks int
	// History is how many requests are recorded (WithHistory).
	History int
	// RecordBodyBytes is how much of each body is recorded
	// (WithRecordBodyBytes).
	RecordBodyBytes int
}

// ParseFlags reads the binary's flags from args; usage and flag errors
// go to stderr.
func ParseFlags(args []string, stderr io.Writer) (Flags, error) {
	var o Flags
	fs := flag.NewFlagSet("mock-provider", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8089", "address to serve on")
	fs.DurationVar(&o.Latency, "latency", 0, "delay before each answer's first byte, unless scripted otherwise")
	fs.DurationVar(&o.ChunkDelay, "chunk-delay", 0, "delay between stream events, unless scripted otherwise")
	fs.IntVar(&o.Chunks, "chunks", 0, "content deltas per stream, unless scripted otherwise (0: one per word)")
	fs.IntVar(&o.History, "history", DefaultHistorySize, "requests kept for GET /_mock/requests (0: none)")
	fs.IntVar(&o.RecordBodyBytes, "record-body-bytes", DefaultRecordBodyBytes, "bytes of each request body kept")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q: mock-provider takes flags only", fs.Args())
	}
	return o, nil
}

// Run serves the mock provider as o says, printing its URL to stdout, until
// ctx is done.
func Run(ctx context.Context, o Flags, stdout io.Writer) error {
	srv, err := Start(o.Listen,
		WithDefault(Step{FirstByteDelay: o.Latency, ChunkDelay: o.ChunkDelay, Chunks: o.Chunks}),
		WithHistory(o.History),
		WithRecordBodyBytes(o.RecordBodyBytes),
	)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, srv.URL())
	<-ctx.Done()
	return srv.Close()
}

// Main is the binary: parse args, then Run. Asking for -help is not an
// error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := ParseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return Run(ctx, o, stdout)
}
