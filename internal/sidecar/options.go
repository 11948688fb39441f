// Package sidecar is the tollgate-sidecar program: options, logging, the
// proxy and admin servers, and hot reload of the policy file. cmd/sidecar
// only calls Main.
package sidecar

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"tollgate.dev/tollgate/internal/sidecar/failures"
	"tollgate.dev/tollgate/internal/sidecar/telemetry"
	"tollgate.dev/tollgate/pkg/llmclient"
)

// Options are the sidecar's command-line settings.
type Options struct {
	// PolicyFile is an LLMPolicy manifest or an operator-rendered bundle.
	PolicyFile string
	// PodLabelsFile is a downward API file with the pod's labels, used to
	// pick this pod's policy from a bundle.
	PodLabelsFile string
	// AllowMissingPolicy starts the sidecar (ready, refusing LLM requests
	// with tollgate_no_policy) while PolicyFile does not exist yet, as when
	// a pod starts before any policy of its namespace.
	AllowMissingPolicy bool
	// CredentialsDir holds one API key file per provider.
	CredentialsDir string
	Listen         string
	Admin          string
	LogLevel       zapcore.Level
	// LogFlushInterval is how long a request's log line may wait in a
	// buffer before it is written; 0 writes each line at once (see
	// loggers).
	LogFlushInterval time.Duration
	// MaxRequestBytes caps request bodies.
	MaxRequestBytes int64
	// MaxBufferedBytes bounds the memory held at once for request bodies
	// and answer copies, across all requests (see llmclient.BufferBudget).
	MaxBufferedBytes int64
	// ReloadInterval is how often the files are re-read even without file
	// events.
	ReloadInterval time.Duration
	// ShutdownGrace is how long in-flight requests may take to finish after
	// SIGTERM.
	ShutdownGrace time.Duration

	// memoryLimit is the runtime's soft memory limit Main set from the
	// container's (0: none), for the start log line.
	memoryLimit int64

	// Ledger, when its URLs are set, shares budgets through the operator's
	// budget ledger; otherwise each budget is local to this sidecar.
	Ledger LedgerOptions

	// Telemetry says what is exported over OTLP: read from the standard
	// OTEL_* environment variables, not from flags.
	Telemetry telemetry.Config
	// FailureRecords, when its Dir is set, keeps a record of every request
	// that failed or fell back, served at /failures.
	FailureRecords FailureRecordOptions
}

// FailureRecordOptions are the sidecar's settings of failure records.
type FailureRecordOptions struct {
	// Dir is the records' directory (the injected sidecar's emptyDir); ""
	// keeps no records.
	Dir string
	// MaxBytes bounds the records' files, each counted in 4 KiB blocks;
	// MaxCount their number. The oldest go first.
	MaxBytes int64
	MaxCount int
}

// LedgerOptions are the sidecar's settings of the budget ledger.
type LedgerOptions struct {
	// URLs are the ledger's addresses (comma-separated on the command line).
	URLs []string
	// CAFile holds the CA certificates of the ledger's serving certificate.
	CAFile string
	// TokenFile is the pod's projected ServiceAccount token.
	TokenFile string
	// StateDir keeps unreported spend across restarts.
	StateDir string
	// PodUID is the pod's UID.
	PodUID string
	// Unreachable is Block or Allow: what to do, once the allowance is
	// spent, while the ledger cannot be reached, for policies that do not
	// say.
	Unreachable string
	// Interval is how often spend is reported at most.
	Interval time.Duration
}

// Parse reads the command line. Problems are reported with what to do.
func Parse(args []string, stderr io.Writer) (Options, error) {
	o := Options{}
	fs := flag.NewFlagSet("tollgate-sidecar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tollgate-sidecar --policy FILE [flags]\n\nEnforces an LLMPolicy on the LLM calls an app sends to http://<listen>/<provider>/...\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nOpenTelemetry traces and metrics (GenAI conventions, no prompts or answers) are exported over OTLP/HTTP\n(http/protobuf, a collector's port 4318; not gRPC) when OTEL_EXPORTER_OTLP_ENDPOINT is set.\n")
	}
	fs.StringVar(&o.PolicyFile, "policy", "", "`file` holding an LLMPolicy manifest or an operator-rendered bundle (required); reloaded when it changes")
	fs.StringVar(&o.PodLabelsFile, "pod-labels", "", "downward API `file` with this pod's labels, to pick its policy from a bundle")
	fs.BoolVar(&o.AllowMissingPolicy, "allow-missing-policy", false, "start even if the policy file does not exist yet, refusing LLM requests until it does")
	fs.StringVar(&o.CredentialsDir, "credentials-dir", "", "`directory` with one API key file per provider that names a credentials Secret")
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:15000", "`address` the app sends its LLM requests to")
	fs.StringVar(&o.Admin, "admin", "127.0.0.1:15020", "`address` of /metrics, /healthz, /readyz, /config and /failures")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	fs.DurationVar(&o.LogFlushInterval, "log-flush-interval", DefaultLogFlushInterval,
		"how long a request's log line may wait to be written with others; other lines are written at once, and every line by SIGTERM's end (0: each at once)")
	fs.Int64Var(&o.MaxRequestBytes, "max-request-bytes", llmclient.DefaultMaxRequestBytes, "largest request body accepted, in `bytes`")
	fs.Int64Var(&o.MaxBufferedBytes, "max-buffered-bytes", llmclient.DefaultMaxBufferedBytes,
		"memory for request bodies and answer copies of all requests together, in `bytes`; bodies wait for room up to the total timeout")
	fs.DurationVar(&o.ReloadInterval, "reload-interval", 10*time.Second, "how often to re-read the policy files even without file events")
	fs.DurationVar(&o.ShutdownGrace, "shutdown-grace", 30*time.Second, "how long in-flight requests may finish after SIGTERM")
	ledgerURLs := fs.String("ledger-url", "", "comma-separated https `URLs` of the operator's budget ledger; empty keeps each budget local to this sidecar")
	fs.StringVar(&o.Ledger.CAFile, "ledger-ca-file", "", "`file` with the CA certificates of the ledger's serving certificate")
	fs.StringVar(&o.Ledger.TokenFile, "ledger-token-file", "", "`file` with the pod's projected ServiceAccount token (audience tollgate)")
	fs.StringVar(&o.Ledger.StateDir, "state-dir", "", "`directory` where spend not yet reported survives a restart")
	fs.StringVar(&o.Ledger.PodUID, "pod-uid", os.Getenv("POD_UID"), "this pod's `UID` (default: $POD_UID)")
	fs.StringVar(&o.Ledger.Unreachable, "ledger-unreachable", "Block", "once the allowance is spent and the ledger cannot be reached: Block or Allow (policies may say otherwise)")
	fs.DurationVar(&o.Ledger.Interval, "ledger-interval", time.Second, "how often spend is reported to the ledger at most")
	fs.StringVar(&o.FailureRecords.Dir, "failure-records-dir", "",
		"`directory` keeping a JSON record of each request that failed or fell back, across restarts, served at the admin server's /failures; empty keeps none")
	fs.Int64Var(&o.FailureRecords.MaxBytes, "failure-records-max-bytes", failures.DefaultMaxBytes,
		"disk the failure records may take, in `bytes`, each record counted in 4 KiB blocks; the oldest are deleted first")
	fs.IntVar(&o.FailureRecords.MaxCount, "failure-records-max-count", failures.DefaultMaxCount, "how many failure `records` are kept at most")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: every setting is a flag, e.g. --policy %s", fs.Arg(0), fs.Arg(0))
	}
	var errs []error
	if o.PolicyFile == "" {
		errs = append(errs, errors.New("--policy is required: the LLMPolicy file to enforce"))
	}
	if err := o.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: use debug, info, warn or error", *level))
	}
	for name, addr := range map[string]string{"--listen": o.Listen, "--admin": o.Admin} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not host:port, e.g. 127.0.0.1:15000", name, addr))
		}
	}
	if o.MaxRequestBytes <= 0 {
		errs = append(errs, fmt.Errorf("--max-request-bytes must be positive"))
	}
	if *ledgerURLs != "" {
		for _, u := range strings.Split(*ledgerURLs, ",") {
			if u = strings.TrimSpace(u); u != "" {
				o.Ledger.URLs = append(o.Ledger.URLs, strings.TrimSuffix(u, "/"))
			}
		}
		for flag, v := range map[string]string{"--ledger-ca-file": o.Ledger.CAFile, "--ledger-token-file": o.Ledger.TokenFile, "--state-dir": o.Ledger.StateDir, "--pod-uid": o.Ledger.PodUID} {
			if v == "" {
				errs = append(errs, fmt.Errorf("%s is required with --ledger-url", flag))
			}
		}
		if o.Ledger.Unreachable != "Block" && o.Ledger.Unreachable != "Allow" {
			errs = append(errs, fmt.Errorf("--ledger-unreachable %q: use Block or Allow", o.Ledger.Unreachable))
		}
		if o.Ledger.Interval <= 0 {
			errs = append(errs, errors.New("--ledger-interval must be positive"))
		}
	}
	if o.MaxBufferedBytes < o.MaxRequestBytes {
		errs = append(errs, fmt.Errorf("--max-buffered-bytes %d cannot hold one body of --max-request-bytes %d: raise it or lower --max-request-bytes", o.MaxBufferedBytes, o.MaxRequestBytes))
	}
	if o.LogFlushInterval < 0 {
		errs = append(errs, errors.New("--log-flush-interval must not be negative (0 writes each line at once)"))
	}
	tel, err := telemetry.FromEnv(os.LookupEnv)
	if err != nil {
		errs = append(errs, fmt.Errorf("OpenTelemetry settings: %w", err))
	}
	o.Telemetry = tel
	if o.FailureRecords.MaxBytes < minFailureRecordBytes || o.FailureRecords.MaxCount < 1 {
		errs = append(errs, fmt.Errorf("--failure-records-max-bytes must be at least %d (one 4 KiB block) and --failure-records-max-count at least 1; a record larger than the bytes is not kept", minFailureRecordBytes))
	}
	if o.ReloadInterval <= 0 || o.ShutdownGrace < 0 {
		errs = append(errs, fmt.Errorf("--reload-interval must be positive and --shutdown-grace not negative"))
	}
	return o, errors.Join(errs...)
}

// minFailureRecordBytes is the least --failure-records-max-bytes: one
// block of the disk.
const minFailureRecordBytes = 4 << 10

// loopback tells whether addr listens only on the loopback interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
