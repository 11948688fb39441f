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
	"time"

	"github.com/go-logr/logr"
	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
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
// of the in-cluster config or $KUBECONFIG, until SIGINT or SIGTERM. It
// returns the process exit code.
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
	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "no Kubernetes API server to talk to: run in a cluster or set KUBECONFIG")
		return 1
	}
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

// NewManager wires the reconciler, and unless disabled the injection
// webhook with its certificates, into a manager.
func NewManager(cfg *rest.Config, opts Options, log logr.Logger) (manager.Manager, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	mopts := ctrl.Options{
		Scheme:                  scheme,
		Logger:                  managerLogger(log),
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:  opts.HealthProbeAddr,
		LeaderElection:          opts.LeaderElect,
		LeaderElectionID:        opts.LeaderElectionID,
		LeaderElectionNamespace: opts.Namespace,
		// A replica that stops (a rollout, SIGTERM) hands the lead, and the
		// ledger, to another at once rather than after the lease.
		LeaderElectionReleaseOnCancel: true,
		// Cache only the ConfigMaps the operator renders, not every
		// ConfigMap of the cluster.
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}: {Label: labels.SelectorFromSet(controller.ManagedConfigMaps())},
		}},
	}
	if opts.EnableWebhook {
		mopts.WebhookServer = crwebhook.NewServer(crwebhook.Options{Host: opts.WebhookHost, Port: opts.WebhookPort, CertDir: opts.WebhookCertDir})
	}
	mgr, err := ctrl.NewManager(cfg, mopts)
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}

	r := &controller.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("tollgate-operator")}
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
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if !opts.EnableWebhook {
		if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
			return nil, err
		}
		if err := addLedger(mgr, cfg, opts, log, nil); err != nil {
			return nil, err
		}
		return mgr, nil
	}

	certsReady := make(chan struct{})
	if opts.CertManagement == CertSelf {
		if err := ensureCertSecret(cfg, scheme, opts); err != nil {
			return nil, err
		}
		if err := addCertRotator(mgr, opts, certsReady); err != nil {
			return nil, err
		}
	} else {
		close(certsReady)
	}
	// The webhook server starts only once its certificate files exist;
	// until then the readiness check fails and the Service sends nothing.
	// The injector reads policies and namespaces live: a policy applied just
	// before a pod must not be missed for a stale cache.
	injector := webhook.NewInjector(mgr.GetAPIReader(), opts.Sidecar, log.WithName("webhook"))
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		select {
		case <-certsReady:
		case <-ctx.Done():
			return nil
		}
		mgr.GetWebhookServer().Register(webhook.Path, &admission.Webhook{Handler: injector})
		log.Info("injection webhook registered", "path", webhook.Path)
		return nil
	})); err != nil {
		return nil, err
	}
	if err := addLedger(mgr, cfg, opts, log, certsReadyFor(opts, certsReady)); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("webhook", func(req *http.Request) error {
		select {
		case <-certsReady:
			return mgr.GetWebhookServer().StartedChecker()(req)
		default:
			return errors.New("webhook certificate not ready yet")
		}
	}); err != nil {
		return nil, err
	}
	return mgr, nil
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
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("tollgate-ledger"),
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

// addCertRotator has cert-controller keep the webhook's CA and serving
// certificate in a Secret of the operator's namespace, write them to the
// cert dir and patch the MutatingWebhookConfiguration's caBundle, renewing
// them before they expire. certsReady closes once the files are in place.
func addCertRotator(mgr manager.Manager, opts Options, certsReady chan struct{}) error {
	dns := fmt.Sprintf("%s.%s.svc", opts.WebhookService, opts.Namespace)
	err := rotator.AddRotator(mgr, &rotator.CertRotator{
		SecretKey:      types.NamespacedName{Namespace: opts.Namespace, Name: opts.WebhookCertSecret},
		CertDir:        opts.WebhookCertDir,
		CAName:         "tollgate-ca",
		CAOrganization: "tollgate",
		DNSName:        dns,
		ExtraDNSNames:  extraDNSNames(opts, dns),
		IsReady:        certsReady,
		Webhooks:       []rotator.WebhookInfo{{Name: opts.WebhookConfig, Type: rotator.Mutating}},
		// Every replica serves the webhook and waits for the Secret's
		// files (mounted at CertDir by the chart), so every replica runs
		// the rotator; an update conflict on the Secret is retried.
		RequireLeaderElection: false,
		// The rotator refreshes the certificate when it starts and, from
		// its controller, on every event of the Secret, the first of
		// which comes at start too: two refreshes of the same empty
		// Secret raced, and the loser logged "could not refresh CA and
		// server certs" (an update conflict) at error level on every first
		// start. With the readiness check the controller waits until the
		// files are mounted, which is after the start's refresh.
		EnableReadinessCheck: true,
	})
	if err != nil {
		return fmt.Errorf("set up webhook certificate rotation: %w", err)
	}
	return nil
}

// extraDNSNames are the certificate's other names: the webhook Service's
// longer and shorter forms, and the ledger Service's, which the same
// certificate serves.
func extraDNSNames(opts Options, dns string) []string {
	names := []string{dns + ".cluster.local", opts.WebhookService + "." + opts.Namespace}
	if opts.Ledger.Addr != "0" {
		ledger := fmt.Sprintf("%s.%s.svc", opts.Ledger.Service, opts.Namespace)
		names = append(names, ledger, ledger+".cluster.local", opts.Ledger.Service+"."+opts.Namespace)
	}
	return names
}

// ensureCertSecret creates the (empty) webhook certificate Secret when it
// does not exist yet: the rotator fills it but does not create it, and the
// operator's Deployment mounts it (optional) as its cert dir.
func ensureCertSecret(cfg *rest.Config, scheme *k8sruntime.Scheme, opts Options) error {
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: opts.WebhookCertSecret, Namespace: opts.Namespace,
		Labels: map[string]string{controller.ManagedByLabel: controller.ManagedByValue}}}
	err = c.Create(ctx, secret)
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create webhook certificate Secret %s/%s: %w (the operator needs create on secrets in its namespace)", opts.Namespace, opts.WebhookCertSecret, err)
	}
	return nil
}
