package ledgerbench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The kinds of simulated sidecar (see the package doc).
const (
	// ClientLean is a lean pkg/ledgerapi client per pod, timed exactly.
	ClientLean = "lean"
	// ClientSidecar is the sidecar's own ledger client per pod.
	ClientSidecar = "sidecar"
)

// Options are the benchmark's settings.
type Options struct {
	// Quick is a smoke run: fewer pods, short measurements, numbers not to
	// quote.
	Quick bool
	// Pods is the number of simulated sidecars, one per pod.
	Pods int
	// Policies lists the scenarios' policy counts: the pods are spread
	// evenly over that many policies of one namespace.
	Policies []int
	// Clients lists the kinds of simulated sidecar; every policy count
	// runs with each.
	Clients []string
	// Interval is how long a sidecar waits after an answer before it syncs
	// again (the sidecar's default: a second).
	Interval time.Duration
	// Commit is the operator's --ledger-commit-interval: a sync is answered
	// once the status write after it is done.
	Commit time.Duration
	// Bundles has every sidecar hold a long poll of the namespace's bundle
	// open, as real sidecars do; off measures the syncs alone.
	Bundles bool
	// Warmup runs the sidecars before measuring: connections, first token
	// reviews, the first sync of every pod.
	Warmup time.Duration
	// Duration is the length of each measurement.
	Duration time.Duration
	// Repo is a directory inside the repository to build from.
	Repo string
	// Out is where the JSON report is written; "" writes none.
	Out string
}

// Defaults are the settings of a full run: 1000 pods over 1 and then 10
// policies, with lean clients and then the sidecar's, 60 s each after
// 20 s of warm-up: about 8 minutes with the setup.
func Defaults() Options {
	return Options{
		Pods:     1000,
		Policies: []int{1, 10},
		Clients:  []string{ClientLean, ClientSidecar},
		Interval: time.Second,
		Commit:   2 * time.Second,
		Bundles:  true,
		Warmup:   20 * time.Second,
		Duration: 60 * time.Second,
		Repo:     ".",
		Out:      "bench/results/ledger-latest.json",
	}
}

// quick changes a full run into a smoke run of about a minute.
func quick(o *Options) {
	o.Pods = 100
	o.Warmup = 5 * time.Second
	o.Duration = 10 * time.Second
}

// Parse reads the command line. -quick sets short defaults that the other
// flags still override.
func Parse(args []string, stderr io.Writer) (Options, error) {
	o := Defaults()
	fs := flag.NewFlagSet("tollgate-ledger-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tollgate-ledger-bench [flags]\n\nMeasures the operator's budget ledger under many simulated sidecars, against a real\nkube-apiserver and etcd (KUBEBUILDER_ASSETS or bin/k8s). Run it from the repository; it builds the operator.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.BoolVar(&o.Quick, "quick", false, "smoke run of about a minute: 100 pods, 5s warm-up, 10s measurements (numbers not to quote)")
	fs.IntVar(&o.Pods, "pods", o.Pods, "simulated sidecars, one per pod")
	fs.Var(intList{&o.Policies}, "policies", "policy `counts`, comma-separated: one scenario each, the pods spread over the policies")
	fs.Var(stringList{&o.Clients}, "clients", "kinds of simulated sidecar, comma-separated: lean (a timed ledgerapi client) and/or sidecar (the sidecar's own ledger client)")
	fs.DurationVar(&o.Interval, "interval", o.Interval, "how long a sidecar waits after an answer before it syncs again")
	fs.DurationVar(&o.Commit, "commit-interval", o.Commit, "the operator's --ledger-commit-interval")
	fs.BoolVar(&o.Bundles, "bundles", o.Bundles, "every sidecar holds a bundle long poll open, as real sidecars do (-bundles=false: the syncs alone)")
	fs.DurationVar(&o.Warmup, "warmup", o.Warmup, "unmeasured load before each measurement")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "length of each measurement")
	fs.StringVar(&o.Repo, "repo", o.Repo, "`directory` inside the tollgate repository to build from")
	fs.StringVar(&o.Out, "out", o.Out, "`file` to write the JSON report to (\"\": none)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: every setting is a flag, see -help", fs.Arg(0))
	}
	if o.Quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		q := o
		quick(&q)
		if !set["pods"] {
			o.Pods = q.Pods
		}
		if !set["warmup"] {
			o.Warmup = q.Warmup
		}
		if !set["duration"] {
			o.Duration = q.Duration
		}
	}
	return o, o.Validate()
}

// Validate says what is wrong with o, if anything.
func (o Options) Validate() error {
	var errs []error
	if o.Pods <= 0 {
		errs = append(errs, errors.New("-pods must be positive"))
	}
	if len(o.Policies) == 0 {
		errs = append(errs, errors.New("-policies needs at least one count, e.g. -policies 1,10"))
	}
	for _, n := range o.Policies {
		if n <= 0 || n > o.Pods {
			errs = append(errs, fmt.Errorf("-policies: %d is not between 1 and -pods (%d)", n, o.Pods))
		}
	}
	if len(o.Clients) == 0 {
		errs = append(errs, errors.New("-clients needs at least one of lean, sidecar"))
	}
	for _, c := range o.Clients {
		if c != ClientLean && c != ClientSidecar {
			errs = append(errs, fmt.Errorf("-clients: %q is neither lean nor sidecar", c))
		}
	}
	if o.Interval <= 0 || o.Commit <= 0 || o.Duration <= 0 || o.Warmup < 0 {
		errs = append(errs, errors.New("-interval, -commit-interval and -duration must be positive and -warmup not negative"))
	}
	return errors.Join(errs...)
}

// intList is a flag of comma-separated positive integers.
type intList struct{ dst *[]int }

func (l intList) String() string {
	if l.dst == nil {
		return ""
	}
	parts := make([]string, len(*l.dst))
	for i, n := range *l.dst {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

func (l intList) Set(s string) error {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", part)
		}
		out = append(out, n)
	}
	*l.dst = out
	return nil
}

// stringList is a flag of comma-separated words, each once.
type stringList struct{ dst *[]string }

func (l stringList) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l stringList) Set(s string) error {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" && !slices.Contains(out, part) {
			out = append(out, part)
		}
	}
	*l.dst = out
	return nil
}
