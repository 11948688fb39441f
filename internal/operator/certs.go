package operator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"tollgate.dev/tollgate/internal/operator/controller"
)

// webhookCerts is where the webhook's serving certificate comes from, and
// what it is still waiting for (for the log and /readyz).
type webhookCerts struct {
	opts Options
	// ready closes once tls.crt and tls.key are in the cert dir and, when
	// the operator issues them, their CA is in the webhook's caBundle.
	ready chan struct{}
	// writer puts the Secret's certificate into the cert dir when no
	// kubelet does; nil when the dir is a Secret volume or in cert-manager
	// mode.
	writer *certWriter
}

// addWebhookCerts sets up the webhook's certificate: with
// --cert-management=self, the cert-controller rotator keeps a CA and a
// serving certificate in the Secret --webhook-cert-secret, and the files
// come from the kubelet (the chart mounts the Secret) or, where nothing
// mounts it, from a certWriter; with cert-manager, the files are waited
// for. Every replica runs all of it: every replica serves the webhook.
func addWebhookCerts(mgr manager.Manager, cfg *rest.Config, scheme *k8sruntime.Scheme, opts Options, log logr.Logger) (*webhookCerts, error) {
	c := &webhookCerts{opts: opts, ready: make(chan struct{})}
	if opts.CertManagement == CertSelf {
		if err := ensureCertSecret(cfg, scheme, opts); err != nil {
			return nil, err
		}
		if !kubeletVolume(opts.WebhookCertDir) {
			w, err := newCertWriter(cfg, mgr, opts, log)
			if err != nil {
				return nil, err
			}
			if err := mgr.Add(w); err != nil {
				return nil, err
			}
			c.writer = w
		}
		if err := addCertRotator(mgr, opts, c.ready); err != nil {
			return nil, err
		}
	} else {
		err := mgr.Add(everyReplica(func(ctx context.Context) error {
			for !certFilesPresent(opts.WebhookCertDir) {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(time.Second):
				}
			}
			close(c.ready)
			return nil
		}))
		if err != nil {
			return nil, err
		}
	}
	if err := mgr.Add(everyReplica(c.report(log))); err != nil {
		return nil, err
	}
	return c, nil
}

// waitingFor says what the certificate waits for, "" once it is in place.
func (c *webhookCerts) waitingFor() string {
	select {
	case <-c.ready:
		return ""
	default:
	}
	dir, secret := c.opts.WebhookCertDir, c.opts.WebhookCertSecret
	if c.opts.Namespace != "" {
		secret = c.opts.Namespace + "/" + secret
	}
	switch {
	case c.opts.CertManagement == CertManager:
		return fmt.Sprintf("tls.crt and tls.key in %s: cert-manager issues them into Secret %s, which the kubelet mounts there (outside a cluster, put them there yourself)", dir, secret)
	case c.opts.CertManagement == CertExternal:
		return fmt.Sprintf("tls.crt and tls.key in %s (--cert-management=external: put them there, and the CA into the webhook's caBundle)", dir)
	case certFilesPresent(dir):
		return fmt.Sprintf("the certificate rotator to find the certificate in %s and inject its CA into the caBundle of MutatingWebhookConfiguration %s (it must exist, and the operator needs update on it)", dir, c.opts.WebhookConfig)
	case c.writer == nil:
		return fmt.Sprintf("the kubelet to project Secret %s, which the certificate rotator fills, into the volume at %s (the kubelet refreshes a mounted Secret within about a minute)", secret, dir)
	default:
		if err := c.writer.lastError(); err != nil {
			return fmt.Sprintf("the certificate of Secret %s to be written to %s: %v", secret, dir, err)
		}
		return fmt.Sprintf("the certificate rotator to fill Secret %s, which the operator then writes to %s (no kubelet mounts it there)", secret, dir)
	}
}

// report logs what the certificate waits for whenever that changes, and
// once it is in place.
func (c *webhookCerts) report(log logr.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		last := ""
		for {
			what := c.waitingFor()
			if what == "" {
				log.Info("webhook certificate in place", "dir", c.opts.WebhookCertDir, "certManagement", c.opts.CertManagement)
				return nil
			}
			if what != last {
				log.Info("webhook waiting", "for", what)
				last = what
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
}

// kubeletVolume reports whether dir is a Secret (or ConfigMap, projected)
// volume: the kubelet publishes each through a "..data" symlink (its
// AtomicWriter, pkg/volume/util/atomic_writer.go), even an optional Secret
// volume whose Secret does not exist yet. Such a dir is the kubelet's to
// fill and read-only to the pod.
func kubeletVolume(dir string) bool {
	fi, err := os.Lstat(filepath.Join(dir, "..data"))
	return err == nil && fi.Mode()&os.ModeSymlink != 0
}

func certFilesPresent(dir string) bool {
	for _, name := range []string{"tls.crt", "tls.key"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false
		}
	}
	return true
}

// certWriter writes the webhook certificate Secret's ca.crt, tls.key and
// tls.crt into the cert dir, where no kubelet projects the Secret: an
// operator run outside a cluster (`--kubeconfig`), or in a pod without the
// volume.
//
// It reads the Secret through the API rather than taking the certificate
// from the rotator as it generates it: cert-controller writes what it
// generates into the Secret only, then waits for the files (which a kubelet
// would project). And the Secret is the one copy replicas agree on — when
// two start at once each generates a CA but only one Update wins, and the
// other adopts the winner's — so writing what the Secret holds, again
// whenever it changes (a rotation), serves the certificate whose CA is in
// the caBundle. Only this one Secret is watched, by name; its ca.key is
// not written out.
type certWriter struct {
	dir   string
	key   types.NamespacedName
	cache cache.Cache // holds the one Secret
	log   logr.Logger

	mu  sync.Mutex // guards err
	err error      // of the last write; nil once one succeeded
}

func newCertWriter(cfg *rest.Config, mgr manager.Manager, opts Options, log logr.Logger) (*certWriter, error) {
	c, err := cache.New(cfg, cache.Options{
		Scheme:            mgr.GetScheme(),
		Mapper:            mgr.GetRESTMapper(),
		DefaultNamespaces: map[string]cache.Config{opts.Namespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Field: fields.OneTermEqualSelector("metadata.name", opts.WebhookCertSecret)},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("watch the webhook certificate Secret: %w", err)
	}
	return &certWriter{
		dir: opts.WebhookCertDir, key: types.NamespacedName{Namespace: opts.Namespace, Name: opts.WebhookCertSecret},
		cache: c, log: log.WithName("webhook-cert"),
	}, nil
}

// NeedLeaderElection is false: every replica serves the webhook.
func (w *certWriter) NeedLeaderElection() bool { return false }

// Start watches the Secret and writes it out on every change, until ctx
// ends. The informer calls the handler from one goroutine.
func (w *certWriter) Start(ctx context.Context) error {
	inf, err := w.cache.GetInformer(ctx, &corev1.Secret{})
	if err != nil {
		return fmt.Errorf("watch Secret %s: %w", w.key, err)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.write(obj) },
		UpdateFunc: func(_, obj any) { w.write(obj) },
	}); err != nil {
		return fmt.Errorf("watch Secret %s: %w", w.key, err)
	}
	return w.cache.Start(ctx)
}

func (w *certWriter) lastError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *certWriter) write(obj any) {
	s, ok := obj.(*corev1.Secret)
	if !ok || s.Name != w.key.Name {
		return
	}
	changed, err := writeCertFiles(w.dir, s.Data)
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
	switch {
	case err != nil:
		w.log.Error(err, "cannot write the webhook certificate", "secret", w.key.String(), "dir", w.dir)
	case changed:
		w.log.Info("webhook certificate written", "secret", w.key.String(), "dir", w.dir)
	}
}

// certFiles are the files written, in order: tls.crt last, as the rotator
// and the servers take its presence to mean the pair is complete.
var certFiles = []struct {
	name string
	mode os.FileMode
}{{"ca.crt", 0o644}, {"tls.key", 0o600}, {"tls.crt", 0o644}}

// writeCertFiles writes the certificate in data into dir, each file
// atomically (a reader sees the old or the new file, never half of one),
// and reports whether any changed. It writes nothing until the rotator
// has filled every key.
func writeCertFiles(dir string, data map[string][]byte) (bool, error) {
	for _, f := range certFiles {
		if len(data[f.name]) == 0 {
			return false, nil
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	changed := false
	for _, f := range certFiles {
		path := filepath.Join(dir, f.name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data[f.name]) {
			continue
		}
		if err := writeAtomic(path, data[f.name], f.mode); err != nil {
			return changed, err
		}
		changed = true
	}
	return changed, nil
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	err = errors.Join(err, tmp.Chmod(mode), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// addCertRotator has cert-controller keep the webhook's CA and serving
// certificate in a Secret of the operator's namespace and patch the
// MutatingWebhookConfiguration's caBundle, renewing them before they
// expire. certsReady closes once the files are in the cert dir (put there
// by the kubelet or a certWriter) and the caBundle holds the CA.
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
		// files, so every replica runs the rotator; an update conflict on
		// the Secret is retried.
		RequireLeaderElection: false,
		// The rotator refreshes the certificate when it starts and, from
		// its controller, on every event of the Secret, the first of
		// which comes at start too: two refreshes of the same empty
		// Secret raced, and the loser logged "could not refresh CA and
		// server certs" (an update conflict) at error level on every first
		// start. With the readiness check the controller waits until the
		// files are in the cert dir, which is after the start's refresh.
		EnableReadinessCheck: true,
		ControllerName:       certRotatorName(),
	})
	if err != nil {
		return fmt.Errorf("set up webhook certificate rotation: %w", err)
	}
	return nil
}

// certRotatorName names the rotator's controller; "" is cert-controller's
// default. Tests running several operators in one process make it unique.
var certRotatorName = func() string { return "" }

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
// does not exist yet: the rotator fills it but does not create it.
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

// everyReplica is a Runnable that runs on every replica, leader or not. A
// manager.RunnableFunc runs on the leader only.
type everyReplica func(context.Context) error

func (f everyReplica) Start(ctx context.Context) error { return f(ctx) }

// NeedLeaderElection is false.
func (everyReplica) NeedLeaderElection() bool { return false }
