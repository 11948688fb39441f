package harness

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"tollgate.dev/tollgate/bench/internal/cli"
	"tollgate.dev/tollgate/bench/internal/report"
)

// Options are the benchmark's settings.
type Options struct {
	// Common are -quick, -repo and -out.
	cli.Common
	// Warmup is sent before each measurement and not measured.
	Warmup time.Duration
	// Duration is the length of each measurement.
	Duration time.Duration
	// Rates are the open-loop rates, per second.
	Rates []int
	// AnswerSizes are the sizes, in bytes, of the reply text of the
	// answer-size runs: open loop at AnswerRate, one run per size.
	AnswerSizes []int
	// AnswerRate is the open-loop rate of the answer-size runs, per
	// second.
	AnswerRate int
	// Rounds splits each latency and throughput measurement into turns:
	// direct, ReverseProxy, sidecar, then again, so that a change in the
	// machine's other load falls on all three alike.
	Rounds int
	// Concurrency is the closed-loop worker count.
	Concurrency int
	// UpstreamLatencies are the mock's delays before answering in the
	// closed-loop runs.
	UpstreamLatencies []time.Duration
	// Streams is the number of concurrent SSE streams.
	Streams int
	// StreamRounds is how many times each target gets the streams, in
	// turns as Rounds.
	StreamRounds int
	// StreamChunks is the content deltas per stream.
	StreamChunks int
	// ChunkDelay is the mock's pause between two stream events.
	ChunkDelay time.Duration
	// Ramp spreads the streams' starts over this long.
	Ramp time.Duration
	// StallGap is the pause between two events that counts as a stall.
	StallGap time.Duration
	// IdleSettle is how long the proxies rest after their first request
	// before their idle memory is read.
	IdleSettle time.Duration
	// TurnSettle is the window in which the proxies must have been idle
	// before a turn starts (see settle); 0 starts each turn at once.
	TurnSettle time.Duration
	// Timeout bounds each request and each stream.
	Timeout time.Duration
	// Pin pins the processes to CPUs with taskset, when it exists.
	Pin bool
	// Peer is a proxy of someone else's to measure as a fourth target,
	// for a reader to recognise: report.PeerPortkey, the Portkey gateway
	// installed with npm (a full run's default), or report.PeerNone
	// (-quick's). Where it cannot be installed or started, the run goes
	// on without it.
	Peer string
}

// Defaults are the settings of a full run, about 9 minutes on two cores
// with the peer, 4 to 5 without.
func Defaults() Options {
	return Options{
		Common:            cli.Common{Repo: ".", Out: "bench/results/latest.json"},
		Warmup:            time.Second,
		Duration:          10 * time.Second,
		Rates:             []int{200, 500, 1000},
		AnswerSizes:       []int{2, 8 << 10, 64 << 10},
		AnswerRate:        500,
		Rounds:            3,
		Concurrency:       64,
		UpstreamLatencies: []time.Duration{0, 20 * time.Millisecond},
		Streams:           1000,
		StreamRounds:      2,
		StreamChunks:      60,
		ChunkDelay:        50 * time.Millisecond,
		Ramp:              time.Second,
		StallGap:          500 * time.Millisecond,
		IdleSettle:        time.Second,
		TurnSettle:        200 * time.Millisecond,
		Timeout:           30 * time.Second,
		Pin:               true,
		Peer:              report.PeerPortkey,
	}
}

// quick changes the defaults of a full run into a smoke run of about 30
// seconds: the same measurements, shorter.
func quick(o *Options) {
	o.Warmup = 250 * time.Millisecond
	o.Duration = time.Second
	o.Rounds = 2
	o.StreamRounds = 1
	o.StreamChunks = 20
	o.Ramp = 500 * time.Millisecond
	o.IdleSettle = 500 * time.Millisecond
	o.Peer = report.PeerNone // installing it takes about half as long as the whole smoke run
}

// command is tollgate-bench's command line.
var command = cli.Command[Options]{
	Name: "tollgate-bench",
	About: "Measures what tollgate-sidecar adds to LLM calls, against calling the mock provider directly\n" +
		"and through a plain httputil.ReverseProxy, and beside the Portkey gateway (-peer). Run it from the\n" +
		"repository; it builds what it runs.",
	QuickUsage: "smoke run of about 30s: 1s measurements, shorter streams, no peer (numbers not to quote)",
	Defaults:   Defaults,
	Quick:      quick,
	Common:     func(o *Options) *cli.Common { return &o.Common },
	Flags:      flags,
}

// flags defines tollgate-bench's own flags, over o's values.
func flags(fs *flag.FlagSet, o *Options) {
	fs.DurationVar(&o.Warmup, "warmup", o.Warmup, "unmeasured load before each measurement")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "length of each measurement")
	fs.Var(cli.Ints(&o.Rates), "rates", "open-loop `rates` in requests per second, comma-separated")
	fs.Var(cli.Ints(&o.AnswerSizes), "answer-sizes", "reply text `sizes` in bytes of the answer-size runs, comma-separated")
	fs.IntVar(&o.AnswerRate, "answer-rate", o.AnswerRate, "open-loop rate in requests per second of the answer-size runs")
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "turns each target takes per measurement, alternating targets")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "closed-loop workers for the max req/s runs")
	fs.Var(cli.Durations(&o.UpstreamLatencies), "upstream-latencies", "mock `delays` before answering in the max req/s runs, comma-separated")
	fs.IntVar(&o.Streams, "streams", o.Streams, "concurrent SSE streams")
	fs.IntVar(&o.StreamRounds, "stream-rounds", o.StreamRounds, "turns each target takes at the streams, alternating targets")
	fs.IntVar(&o.StreamChunks, "stream-chunks", o.StreamChunks, "content deltas per stream")
	fs.DurationVar(&o.ChunkDelay, "chunk-delay", o.ChunkDelay, "mock pause between two stream events")
	fs.DurationVar(&o.Ramp, "ramp", o.Ramp, "spread the streams' starts over this long")
	fs.DurationVar(&o.StallGap, "stall-gap", o.StallGap, "a pause between two stream events longer than this is a stall")
	fs.DurationVar(&o.IdleSettle, "idle-settle", o.IdleSettle, "rest after the first request before reading idle memory")
	fs.DurationVar(&o.TurnSettle, "turn-settle", o.TurnSettle, "before each turn, wait until the proxies were idle this long (0: do not wait)")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "bound on each request and stream")
	fs.Var(noPin{&o.Pin}, "no-pin", "do not pin processes to CPUs even if taskset exists")
	fs.StringVar(&o.Peer, "peer", o.Peer, "`peer` proxy measured as well: portkey (the Portkey gateway, installed with npm; skipped where that fails) or none; -quick's default is none")
}

// Validate says what is wrong with o, if anything.
func (o Options) Validate() error {
	var errs []error
	if o.Duration <= 0 || o.Warmup < 0 {
		errs = append(errs, errors.New("-duration must be positive and -warmup not negative"))
	}
	if len(o.Rates) == 0 {
		errs = append(errs, errors.New("-rates needs at least one rate, e.g. -rates 200,500,1000"))
	}
	for _, r := range o.Rates {
		if r <= 0 {
			errs = append(errs, fmt.Errorf("-rates: %d is not a positive rate", r))
		}
	}
	if len(o.AnswerSizes) == 0 {
		errs = append(errs, errors.New("-answer-sizes needs at least one size, e.g. -answer-sizes 2,8192,65536"))
	}
	for _, n := range o.AnswerSizes {
		if n <= 0 {
			errs = append(errs, fmt.Errorf("-answer-sizes: %d is not a positive size", n))
		}
	}
	if o.AnswerRate <= 0 {
		errs = append(errs, fmt.Errorf("-answer-rate: %d is not a positive rate", o.AnswerRate))
	}
	if o.Rounds <= 0 || o.StreamRounds <= 0 || o.Concurrency <= 0 || o.Streams <= 0 || o.StreamChunks <= 0 {
		errs = append(errs, errors.New("-rounds, -stream-rounds, -concurrency, -streams and -stream-chunks must be positive"))
	}
	if len(o.UpstreamLatencies) == 0 {
		errs = append(errs, errors.New("-upstream-latencies needs at least one delay, e.g. -upstream-latencies 0,20ms"))
	}
	for _, d := range o.UpstreamLatencies {
		if d < 0 {
			errs = append(errs, fmt.Errorf("-upstream-latencies: %s is negative", d))
		}
	}
	if o.ChunkDelay < 0 || o.Ramp < 0 || o.StallGap <= 0 || o.IdleSettle < 0 || o.TurnSettle < 0 || o.Timeout <= 0 {
		errs = append(errs, errors.New("-chunk-delay, -ramp, -idle-settle and -turn-settle must not be negative; -stall-gap and -timeout must be positive"))
	}
	if o.Peer != report.PeerPortkey && o.Peer != report.PeerNone {
		errs = append(errs, fmt.Errorf("-peer: %q is neither %s nor %s", o.Peer, report.PeerPortkey, report.PeerNone))
	}
	return errors.Join(errs...)
}

// noPin is the -no-pin flag: a bool that, set, turns Options.Pin off.
type noPin struct{ pin *bool }

func (f noPin) IsBoolFlag() bool { return true }

func (f noPin) String() string {
	if f.pin == nil {
		return "false"
	}
	return strconv.FormatBool(!*f.pin)
}

func (f noPin) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("parse error") // as flag says it of any bool
	}
	*f.pin = !v
	return nil
}
