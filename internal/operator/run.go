package operator

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/operator/controller"
	"tollgate.dev/tollgate/internal/operator/ledger"
	"tollgate.dev/tollgate/internal/operator/webhook"
)

// Main runs the operator with the given command line against the cluster
// of --kubeconfig, $KUBECONFIG or the in-cluster config, until SIGINT or
// SIGTERM. It returns the process exit code.
func Main(args []string) int {
	opts, err := Parse(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tollgate-operator: %v\n", err)
		return 2
	}
	log := NewLogger(os.Stderr, opts.LogLevel)
	// client-go logs through klog (leader election, watch failures):
	// the same JSON lines.
	klog.SetLogger(log)
	// --kubeconfig (registered by Parse), else $KUBECONFIG, else the
	// in-cluster config, else ~/.kube/config.
	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "no Kubernetes API server to talk to: run in a cluster, pass --kubeconfig or set KUBECONFIG")
		return 1
	}
	log.Info("Kubernetes API server", "host", cfg.Host)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, cfg, opts, log); err != nil {
		log.Error(err, "operator stopped")
		return 1
	}
	return 0
}

// Scheme knows Kubernetes' built-in types and LLMPolicy.
func Scheme() (*k8sruntime.Scheme, error) {
	s := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Run builds the manager and runs it until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, opts Options, log logr.Logger) error {
	mgr, err := NewManager(cfg, opts, log)
	if err != nil {
		return err
	}
	log.Info("tollgate-operator starting", "namespace", opts.Namespace, "leaderElection", opts.LeaderElect,
		"webhook", opts.EnableWebhook, "certManagement", opts.CertManagement, "sidecarImage", opts.Sidecar.Image)
	return mgr.Start(ctx)
}

// skipControllerNameValidation lets tests run several operators in one
// process; controller names must be unique per process otherwise.
var skipControllerNameValidation = false

// NewManager wires the reconciler, and unless disabled the injection
// webhook with its certificates and the budget ledger, into a manager.
func NewManager(cfg *rest.Config, opts Options, log logr.Logger) (manager.Manager, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	mopts := ctrl.Options{
		Scheme:                  scheme,
		Logger:                  managerLogger(log),
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsAddr},
		LeaderElection:          opts.LeaderElect,
		LeaderElectionID:        opts.LeaderElectionID,
		LeaderElectionNamespace: opts.Namespace,
		// A replica that stops (a rollout, SIGTERM) hands the lead, and the
		// ledger, to another at once rather than after the lease.
		LeaderElectionReleaseOnCancel: true,
		// Only the ConfigMaps the operator renders, and Secrets' metadata.
		Cache: cache.Options{ByObject: controller.CacheByObject(opts.SecretNamespaces)},
		// HealthProbeBindAddress stays unset: addProbes serves the probes.
		Controller: config.Controller{SkipNameValidation: ptr.To(skipControllerNameValidation || opts.SharedProcess)},
	}
	if opts.EnableWebhook {
		mopts.WebhookServer = crwebhook.NewServer(crwebhook.Options{Host: opts.WebhookHost, Port: opts.WebhookPort, CertDir: opts.WebhookCertDir})
	}
	mgr, err := ctrl.NewManager(cfg, mopts)
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}

	r := &controller.Reconciler{Client: mgr.GetClient(), Recorder: recorder(mgr.GetEventRecorder("tollgate-operator")), SecretNamespaces: opts.SecretNamespaces}
	if opts.Ledger.Addr != "0" {
		caFile := filepath.Join(opts.Ledger.CertDir, "ca.crt")
		r.LedgerCA = func() []byte {
			b, _ := os.ReadFile(caFile) // absent until the certificate is issued
			return b
		}
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("set up the LLMPolicy controller: %w", err)
	}
	if !opts.EnableWebhook {
		if err := addLedger(mgr, cfg, opts, log, nil); err != nil {
			return nil, err
		}
		return mgr, addProbes(mgr, opts.HealthProbeAddr, nil)
	}

	certs, err := addWebhookCerts(mgr, cfg, scheme, opts, log)
	if err != nil {
		return nil, err
	}
	// The webhook server starts (GetWebhookServer adds it to the manager)
	// only once its certificate files exist; until then the readiness
	// check fails and the Service sends nothing. Every replica registers
	// it, leader or not: the Service sends admissions to all of them.
	// The injector reads policies and namespaces live: a policy applied
	// just before a pod must not be missed for a stale cache.
	injector := webhook.NewInjector(mgr.GetAPIReader(), opts.Sidecar, log.WithName("webhook"))
	registered := make(chan struct{})
	if err := mgr.Add(everyReplica(func(ctx context.Context) error {
		select {
		case <-certs.ready:
		case <-ctx.Done():
			return nil
		}
		mgr.GetWebhookServer().Register(webhook.Path, &admission.Webhook{Handler: injector})
		close(registered)
		log.Info("injection webhook registered", "path", webhook.Path)
		return nil
	})); err != nil {
		return nil, err
	}
	if err := addLedger(mgr, cfg, opts, log, certsReadyFor(opts, certs.ready)); err != nil {
		return nil, err
	}
	return mgr, addProbes(mgr, opts.HealthProbeAddr, []readyCheck{{name: "webhook", check: func(req *http.Request) error {
		if what := certs.waitingFor(); what != "" {
			return errors.New("waiting for " + what)
		}
		select {
		case <-registered:
			return mgr.GetWebhookServer().StartedChecker()(req)
		default:
			return errors.New("waiting for the injection webhook to be registered")
		}
	}}})
}

// certsReadyFor is what the ledger waits for: the rotator's files when the
// operator issues its certificate, else (cert-manager) the files appearing.
func certsReadyFor(opts Options, certsReady chan struct{}) <-chan struct{} {
	if opts.CertManagement == CertSelf && opts.Ledger.CertDir == opts.WebhookCertDir {
		return certsReady
	}
	return nil
}

// addLedger adds the budget ledger, served by the leader only, unless it
// is turned off.
func addLedger(mgr manager.Manager, cfg *rest.Config, opts Options, log logr.Logger, certsReady <-chan struct{}) error {
	if opts.Ledger.Addr == "0" {
		return nil
	}
	l := ledger.New(ledger.Options{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder(mgr.GetEventRecorder("tollgate-ledger")),
		Log: log.WithName("ledger"), Lease: opts.Ledger.Lease, Sync: opts.Ledger.Sync, Commit: opts.Ledger.Commit,
	})
	srv := &ledger.Server{Ledger: l, Addr: opts.Ledger.Addr, CertDir: opts.Ledger.CertDir, CertsReady: certsReady}
	if opts.Ledger.PodName != "" && opts.Namespace != "" {
		c, err := client.New(cfg, client.Options{Scheme: mgr.GetScheme()})
		if err != nil {
			return err
		}
		// A replica that restarts may still carry the label of its last
		// term: it drops it until it leads again.
		if err := labelLeader(context.Background(), c, opts, false); err != nil {
			log.Error(err, "could not remove the ledger leader label from this pod")
		}
		srv.OnLead = func(ctx context.Context) error { return labelLeader(ctx, c, opts, true) }
	}
	return mgr.Add(srv)
}

// labelLeader sets or removes LeaderLabel on the operator's own pod.
func labelLeader(ctx context.Context, c client.Client, opts Options, leader bool) error {
	value := any(nil)
	if leader {
		value = "true"
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]any{LeaderLabel: value}}})
	if err != nil {
		return err
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: opts.Ledger.PodName, Namespace: opts.Namespace}}
	if err := c.Patch(ctx, pod, client.RawPatch(types.MergePatchType, patch)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("label pod %s/%s %s=%v: %w (the operator needs patch on pods in its namespace)", opts.Namespace, opts.Ledger.PodName, LeaderLabel, value, err)
	}
	return nil
}
