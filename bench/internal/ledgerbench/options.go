package ledgerbench

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"tollgate.dev/tollgate/bench/internal/cli"
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
	// Common are -quick (fewer pods, short measurements), -repo and -out.
	cli.Common
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
}

// Defaults are the settings of a full run: 1000 pods over 1 and then 10
// policies, with lean clients and then the sidecar's, 60 s each after
// 20 s of warm-up: about 8 minutes with the setup.
func Defaults() Options {
	return Options{
		Common:   cli.Common{Repo: ".", Out: "bench/results/ledger-latest.json"},
		Pods:     1000,
		Policies: []int{1, 10},
		Clients:  []string{ClientLean, ClientSidecar},
		Interval: time.Second,
		Commit:   2 * time.Second,
		Bundles:  true,
		Warmup:   20 * time.Second,
		Duration: 60 * time.Second,
	}
}

// quick changes a full run into a smoke run of about a minute.
func quick(o *Options) {
	o.Pods = 100
	o.Warmup = 5 * time.Second
	o.Duration = 10 * time.Second
}

// command is tollgate-ledger-bench's command line.
var command = cli.Command[Options]{
	Name: "tollgate-ledger-bench",
	About: "Measures the operator's budget ledger under many simulated sidecars, against a real\n" +
		"kube-apiserver and etcd (KUBEBUILDER_ASSETS or bin/k8s). Run it from the repository; it builds the operator.",
	QuickUsage: "smoke run of about a minute: 100 pods, 5s warm-up, 10s measurements (numbers not to quote)",
	Defaults:   Defaults,
	Quick:      quick,
	Common:     func(o *Options) *cli.Common { return &o.Common },
	Flags:      flags,
}

// flags defines tollgate-ledger-bench's own flags, over o's values.
func flags(fs *flag.FlagSet, o *Options) {
	fs.IntVar(&o.Pods, "pods", o.Pods, "simulated sidecars, one per pod")
	fs.Var(cli.Ints(&o.Policies), "policies", "policy `counts`, comma-separated: one scenario each, the pods spread over the policies")
	fs.Var(cli.Words(&o.Clients), "clients", "kinds of simulated sidecar, comma-separated: lean (a timed ledgerapi client) and/or sidecar (the sidecar's own ledger client)")
	fs.DurationVar(&o.Interval, "interval", o.Interval, "how long a sidecar waits after an answer before it syncs again")
	fs.DurationVar(&o.Commit, "commit-interval", o.Commit, "the operator's --ledger-commit-interval")
	fs.BoolVar(&o.Bundles, "bundles", o.Bundles, "every sidecar holds a bundle long poll open, as real sidecars do (-bundles=false: the syncs alone)")
	fs.DurationVar(&o.Warmup, "warmup", o.Warmup, "unmeasured load before each measurement")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "length of each measurement")
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
