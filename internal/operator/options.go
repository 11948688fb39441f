// Package operator is the tollgate-operator program: options, logging and a
// controller-runtime manager running the LLMPolicy reconciler, the sidecar
// injection webhook and its certificates. cmd/operator only calls Main.
package operator

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
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/operator/ledger"
)

// Certificate management modes (--cert-management).
const (
	// CertSelf: the operator keeps a CA and serving certificate in a Secret
	// and patches the webhook's caBundle, rotating before expiry.
	CertSelf = "self"
	// CertExternal: someone else puts tls.crt and tls.key into
	// --webhook-cert-dir and the CA into the webhook's caBundle (you, or
	// a tool); the operator only reads the files.
	CertExternal = "external"
	// CertManager is CertExternal where cert-manager issues the
	// certificate (the chart's webhook.certManager.enabled) and its CA
	// injector fills the caBundle.
	CertManager = "cert-manager"
)

// Options are the operator's command-line settings.
type Options struct {
	// SharedProcess is set, never by a flag, by tests that run several
	// operators in one process: controller names, which must be unique
	// in a process, are then not checked.
	SharedProcess bool

	MetricsAddr      string
	HealthProbeAddr  string
	LeaderElect      bool
	LeaderElectionID string
	// Namespace is the operator's own namespace: where its webhook
	// certificate Secret and leader-election lease live.
	Namespace string

	// EnableWebhook serves the injection webhook. Off, the operator only
	// reconciles (useful for local runs without certificates).
	EnableWebhook     bool
	WebhookHost       string
	WebhookPort       int
	WebhookCertDir    string
	CertManagement    string
	WebhookService    string
	WebhookConfig     string
	WebhookCertSecret string

	// SecretNamespaces, when set, are the only namespaces whose Secrets the
	// operator watches (metadata only) to check policies' credentials; nil
	// watches every namespace. Policies elsewhere have their Secrets
	// unchecked (the kubelet still checks them when a pod starts).
	SecretNamespaces []string

	// Sidecar is how the sidecar is injected.
	Sidecar inject.Config

	// Ledger configures the budget ledger; off when its Addr is "0".
	Ledger LedgerOptions

	LogLevel zapcore.Level
}

// LedgerOptions configure the operator's budget ledger.
type LedgerOptions struct {
	// Addr is where the leader serves the ledger (HTTPS); "0" turns it off
	// and leaves each sidecar's budget local.
	Addr string
	// Service is the name of the ledger's Service in the operator's
	// namespace, which selects the leader (the pod it labels): sidecars
	// reach the ledger at https://<Service>.<namespace>.svc:<port>.
	Service string
	// URLs, when set, are what sidecars are told instead (one per replica
	// where there is no Service, as in tests).
	URLs []string
	// CertDir holds the serving certificate (tls.crt, tls.key) and the CA
	// (ca.crt) that sidecars trust; default the webhook's.
	CertDir string
	// Lease, Sync and Commit are the ledger's timing (ledger.Options).
	Lease, Sync, Commit time.Duration
	// Unreachable is the injected sidecars' --ledger-unreachable.
	Unreachable string
	// PodName is the operator's own pod, which the leader labels so that
	// the ledger Service sends sidecars to it.
	PodName string
}

// LeaderLabel is the label the leader puts on its own pod, which the
// ledger Service selects.
const LeaderLabel = "tollgate.dev/ledger-leader"

// Parse reads the command line. Problems are reported with what to do.
func Parse(args []string, stderr io.Writer) (Options, error) {
	o := Options{Sidecar: inject.DefaultConfig()}
	fs := flag.NewFlagSet("tollgate-operator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// --kubeconfig is controller-runtime's own flag: RegisterFlags binds it
	// to the variable ctrl.GetConfig reads (which falls back to $KUBECONFIG,
	// the in-cluster config, then ~/.kube/config). Its init() registers it
	// on flag.CommandLine only, which the operator does not parse.
	config.RegisterFlags(fs)
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8080", "`address` of the Prometheus /metrics endpoint; \"0\" turns it off")
	fs.StringVar(&o.HealthProbeAddr, "health-probe-bind-address", ":8081", "`address` of /healthz and /readyz")
	fs.BoolVar(&o.LeaderElect, "leader-elect", false, "elect a leader among replicas, so one reconciles at a time")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", "tollgate-operator.tollgate.dev", "name of the leader-election Lease")
	fs.StringVar(&o.Namespace, "namespace", os.Getenv("POD_NAMESPACE"), "the operator's own `namespace` (default: $POD_NAMESPACE)")
	fs.BoolVar(&o.EnableWebhook, "enable-webhook", true, "serve the sidecar injection webhook")
	fs.StringVar(&o.WebhookHost, "webhook-host", "", "`address` the injection webhook listens on (default: every interface, as the API server reaches it through a Service)")
	fs.IntVar(&o.WebhookPort, "webhook-port", 9443, "`port` of the injection webhook (HTTPS)")
	fs.StringVar(&o.WebhookCertDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs", "`directory` holding the webhook's tls.crt and tls.key")
	fs.StringVar(&o.CertManagement, "cert-management", CertSelf, "who issues the webhook certificate: self (the operator), cert-manager, or external (files put into --webhook-cert-dir by you)")
	fs.StringVar(&o.WebhookService, "webhook-service-name", "tollgate-webhook", "`name` of the webhook's Service (the certificate's DNS name)")
	fs.StringVar(&o.WebhookConfig, "webhook-config-name", "tollgate-sidecar-injector", "`name` of the MutatingWebhookConfiguration whose caBundle the operator keeps")
	fs.StringVar(&o.WebhookCertSecret, "webhook-cert-secret", "tollgate-webhook-cert", "`name` of the Secret holding the webhook's CA and certificate")

	secretNamespaces := fs.String("secret-namespaces", "", "comma-separated `namespaces` whose Secrets the operator watches (metadata only) to check that policies' credentials Secrets exist; empty: every namespace")

	fs.StringVar(&o.Sidecar.Image, "sidecar-image", o.Sidecar.Image, "`image` of the injected sidecar")
	pull := fs.String("sidecar-image-pull-policy", string(o.Sidecar.ImagePullPolicy), "imagePullPolicy of the sidecar: Always, IfNotPresent or Never")
	cpuReq := fs.String("sidecar-cpu-request", "50m", "CPU request of the sidecar (\"\" for none)")
	memReq := fs.String("sidecar-memory-request", "32Mi", "memory request of the sidecar (\"\" for none)")
	cpuLim := fs.String("sidecar-cpu-limit", "", "CPU limit of the sidecar (\"\" for none: a CPU limit throttles streams)")
	memLim := fs.String("sidecar-memory-limit", "128Mi", "memory limit of the sidecar (\"\" for none)")
	fs.StringVar(&o.Sidecar.LogLevel, "sidecar-log-level", o.Sidecar.LogLevel, "log level of the sidecar: debug, info, warn or error")
	maxRequest := fs.String("sidecar-max-request-bytes", "", "largest request body a sidecar accepts, a quantity such as 8Mi (\"\" for the sidecar's default, 8Mi)")
	maxBuffered := fs.String("sidecar-max-buffered-bytes", "", "request bodies a sidecar holds in memory at once, such as 32Mi (\"\" for the sidecar's default, 32Mi); with the memory limit")
	fs.StringVar(&o.Sidecar.OTel.Endpoint, "sidecar-otel-endpoint", "", "OTLP/HTTP `URL` the sidecars export OpenTelemetry traces and metrics to, such as http://otel-collector.observability:4318 (\"\" exports nothing)")
	fs.StringVar(&o.Ledger.Addr, "ledger-bind-address", ":8443", "`address` where the leader serves the budget ledger (HTTPS); \"0\" turns it off and leaves each sidecar's budget local")
	fs.StringVar(&o.Ledger.Service, "ledger-service-name", "tollgate-ledger", "`name` of the ledger's Service, which selects the leader")
	ledgerURLs := fs.String("ledger-url", "", "comma-separated `URLs` sidecars are told for the ledger (default https://<ledger-service-name>.<namespace>.svc:<port>)")
	fs.StringVar(&o.Ledger.CertDir, "ledger-cert-dir", "", "`directory` with the ledger's tls.crt, tls.key and ca.crt (default: --webhook-cert-dir)")
	fs.DurationVar(&o.Ledger.Lease, "ledger-lease", ledger.DefaultLease, "how long a sidecar's allowance stays its own without a sync; a gone pod's returns to the pool after it")
	fs.DurationVar(&o.Ledger.Sync, "ledger-sync-interval", ledger.DefaultSync, "how often sidecars sync with the ledger at the latest")
	fs.DurationVar(&o.Ledger.Commit, "ledger-commit-interval", ledger.DefaultCommit, "how often a policy's status.budget is written; syncs wait for the write (within 0.1s while a request waits for allowance)")
	fs.StringVar(&o.Ledger.Unreachable, "budget-when-ledger-unreachable", "Block", "what sidecars do, once their allowance is spent, while the ledger cannot be reached, for policies that do not say: Block or Allow")
	fs.StringVar(&o.Ledger.PodName, "pod-name", os.Getenv("POD_NAME"), "the operator's own pod `name` (default: $POD_NAME), labelled "+LeaderLabel+" while it leads")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: every setting is a flag", fs.Arg(0))
	}

	var errs []error
	if err := o.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: use debug, info, warn or error", *level))
	}
	o.Sidecar.ImagePullPolicy = corev1.PullPolicy(*pull)
	o.Sidecar.Resources = corev1.ResourceRequirements{}
	for _, q := range []struct {
		flag, value string
		list        *corev1.ResourceList
		name        corev1.ResourceName
	}{
		{"--sidecar-cpu-request", *cpuReq, &o.Sidecar.Resources.Requests, corev1.ResourceCPU},
		{"--sidecar-memory-request", *memReq, &o.Sidecar.Resources.Requests, corev1.ResourceMemory},
		{"--sidecar-cpu-limit", *cpuLim, &o.Sidecar.Resources.Limits, corev1.ResourceCPU},
		{"--sidecar-memory-limit", *memLim, &o.Sidecar.Resources.Limits, corev1.ResourceMemory},
	} {
		if q.value == "" {
			continue
		}
		v, err := resource.ParseQuantity(q.value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not a quantity, e.g. 50m or 64Mi", q.flag, q.value))
			continue
		}
		if *q.list == nil {
			*q.list = corev1.ResourceList{}
		}
		(*q.list)[q.name] = v
	}
	for _, q := range []struct {
		flag, value string
		dst         *int64
	}{{"--sidecar-max-request-bytes", *maxRequest, &o.Sidecar.MaxRequestBytes}, {"--sidecar-max-buffered-bytes", *maxBuffered, &o.Sidecar.MaxBufferedBytes}} {
		if q.value == "" {
			continue
		}
		v, err := resource.ParseQuantity(q.value)
		if err != nil || v.Sign() <= 0 {
			errs = append(errs, fmt.Errorf("%s %q is not a positive quantity of bytes, e.g. 8Mi", q.flag, q.value))
			continue
		}
		*q.dst = v.Value()
	}
	if err := o.Sidecar.Validate(); err != nil {
		errs = append(errs, err)
	}
	switch o.CertManagement {
	case CertSelf, CertManager, CertExternal:
	default:
		errs = append(errs, fmt.Errorf("--cert-management %q: use %s, %s or %s", o.CertManagement, CertSelf, CertManager, CertExternal))
	}
	if o.EnableWebhook && o.CertManagement == CertSelf && o.Namespace == "" {
		errs = append(errs, errors.New("--namespace is required to manage webhook certificates: set it or POD_NAMESPACE (the Helm chart sets POD_NAMESPACE)"))
	}
	if o.LeaderElect && o.Namespace == "" {
		errs = append(errs, errors.New("--namespace is required with --leader-elect: the Lease lives there"))
	}
	if o.Ledger.CertDir == "" {
		o.Ledger.CertDir = o.WebhookCertDir
	}
	if o.Ledger.Addr != "0" {
		_, port, err := net.SplitHostPort(o.Ledger.Addr)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("--ledger-bind-address %q is not host:port, e.g. :8443, or \"0\" to turn the ledger off", o.Ledger.Addr))
		case *ledgerURLs != "":
			for _, u := range strings.Split(*ledgerURLs, ",") {
				if u = strings.TrimSpace(u); u != "" {
					o.Ledger.URLs = append(o.Ledger.URLs, u)
				}
			}
		case o.Namespace == "":
			errs = append(errs, errors.New("--namespace is required to tell sidecars the ledger's Service address: set it or POD_NAMESPACE, or set --ledger-url"))
		default:
			o.Ledger.URLs = []string{fmt.Sprintf("https://%s.%s.svc:%s", o.Ledger.Service, o.Namespace, port)}
		}
		if o.Ledger.Unreachable != "Block" && o.Ledger.Unreachable != "Allow" {
			errs = append(errs, fmt.Errorf("--budget-when-ledger-unreachable %q: use Block or Allow", o.Ledger.Unreachable))
		}
		o.Sidecar.LedgerURLs, o.Sidecar.LedgerUnreachable = o.Ledger.URLs, o.Ledger.Unreachable
	}
	for _, ns := range strings.Split(*secretNamespaces, ",") {
		if ns = strings.TrimSpace(ns); ns == "" {
			continue
		}
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--secret-namespaces: %q is not a namespace name: %s", ns, strings.Join(msgs, "; ")))
			continue
		}
		o.SecretNamespaces = append(o.SecretNamespaces, ns)
	}
	if o.WebhookPort <= 0 || o.WebhookPort > 65535 {
		errs = append(errs, fmt.Errorf("--webhook-port %d is not a port", o.WebhookPort))
	}
	return o, errors.Join(errs...)
}
