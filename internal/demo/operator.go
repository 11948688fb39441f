package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/testkit/testenv"
)

// sidecarImage is the image the operator injects; the demo runs the
// binary instead.
const sidecarImage = "tollgate-sidecar:demo"

// startOperator runs the operator binary against the control plane,
// serving the webhook where the webhook configuration points, with the
// certificate envtest made (--cert-management=external: the files and the
// caBundle come from elsewhere, here envtest), and the budget ledger on a free port
// of 127.0.0.1, with a certificate of the demo's.
func (d *demo) startOperator(ctx context.Context) (string, error) {
	var built buildResult
	select {
	case built = <-d.built:
	case <-ctx.Done():
		return "", fmt.Errorf("building the binaries: %w", ctx.Err())
	}
	if built.err != nil {
		return "", built.err
	}
	d.bins = built.bins
	if d.opts.BinDir == "" {
		d.say.say("built the operator and the sidecar in %s", built.took.Round(100*time.Millisecond))
	}
	// The step's long timeout is the build's; what follows takes seconds
	// when it works, and should say why it does not within a step's time
	// (e.g. a webhook that refuses every pod) rather than hang.
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	health, err := freePort()
	if err != nil {
		return "", err
	}
	ledger, err := d.ledgerCert()
	if err != nil {
		return "", err
	}
	wh := d.env.Webhooks
	args := []string{
		"--leader-elect=false",
		"--metrics-bind-address=127.0.0.1:0",
		"--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(health),
		"--webhook-host=127.0.0.1",
		"--webhook-port=" + strconv.Itoa(wh.LocalServingPort),
		"--webhook-cert-dir=" + wh.LocalServingCertDir,
		// envtest issued the webhook's certificate for 127.0.0.1 and put
		// its CA into the webhook configuration.
		"--cert-management=external",
		"--sidecar-image=" + sidecarImage,
		"--ledger-bind-address=" + d.ledgerAddr,
		"--ledger-url=https://" + d.ledgerAddr,
		"--ledger-cert-dir=" + ledger,
		"--ledger-commit-interval=" + ledgerCommitInterval,
	}
	d.say.command("go run ./cmd/operator %s", strings.Join(args, " "))
	start := time.Now()
	d.operator, err = d.startProcess("operator", d.bins.operator, args, []string{"KUBECONFIG=" + d.env.Kubeconfig})
	if err != nil {
		return "", err
	}
	readyz := fmt.Sprintf("http://127.0.0.1:%d/readyz", health)
	if err := waitFor(ctx, "the operator's "+readyz, func(ctx context.Context) error {
		if err := d.operator.Err(); err != nil {
			return permanent(err)
		}
		return httpOK(ctx, readyz)
	}); err != nil {
		return "", err
	}
	ready := time.Since(start)
	// The API server loads webhook configurations asynchronously: a pod
	// created before it calls the webhook would go without the sidecar.
	if err := waitFor(ctx, "the API server to call the operator's webhook", d.webhookAdmits); err != nil {
		return "", err
	}
	if err := waitFor(ctx, "the operator's budget ledger to serve on "+d.ledgerAddr, func(context.Context) error {
		for _, l := range d.operator.Log().JSONLines() {
			if l["msg"] == "budget ledger serving" {
				return nil
			}
		}
		if err := d.operator.Err(); err != nil {
			return permanent(err)
		}
		return errors.New("no \"budget ledger serving\" line in its log yet")
	}); err != nil {
		return "", err
	}
	d.say.say("the operator serves the budget ledger on https://%s: sidecars report their pod's spend there and draw allowances of the budget", d.ledgerAddr)
	return fmt.Sprintf("ready after %s; a dry-run pod came back injected; ledger up", ready.Round(10*time.Millisecond)), nil
}

// ledgerCommitInterval is the operator's --ledger-commit-interval in the
// demo: how often the ledger writes status.budget at most, and so how long
// a sync waits for its answer to be durable (a request short of allowance
// waits for one). Short, so that the demo's requests wait little and spend
// shows at once.
const ledgerCommitInterval = "100ms"

// ledgerCert picks the ledger's address, a free port on 127.0.0.1 (no
// Service here: sidecars are told the address itself), and writes a
// serving certificate for it with its CA into a directory of the demo's,
// which it returns. In a cluster, the operator's own certificate serves
// the ledger Service's name.
func (d *demo) ledgerCert() (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	d.ledgerAddr = fmt.Sprintf("127.0.0.1:%d", port)
	dir := filepath.Join(d.work, "ledger-certs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := testenv.ServingCert(dir, "127.0.0.1"); err != nil {
		return "", fmt.Errorf("make the ledger's serving certificate: %w", err)
	}
	d.say.say("the budget ledger's certificate for 127.0.0.1 and its CA (ca.crt, which the operator publishes for the sidecars): %s", dir)
	return dir, nil
}

// webhookAdmits dry-runs the creation of an opted-in pod and says whether
// it came back injected.
func (d *demo) webhookAdmits(ctx context.Context) error {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "webhook-probe", Namespace: metav1.NamespaceDefault, Labels: map[string]string{inject.InjectLabel: "true"}},
		// With the ledger, the sidecar gets a projected ServiceAccount token,
		// which a pod naming no ServiceAccount may not have: in a cluster
		// the ServiceAccount admission plugin names "default" before the
		// webhook is called, but the demo's control plane runs without it.
		Spec: corev1.PodSpec{ServiceAccountName: "default", Containers: []corev1.Container{{Name: "probe", Image: "registry.example/probe:1.0"}}},
	}
	if err := d.env.Client.Create(ctx, pod, client.DryRunAll); err != nil {
		return err
	}
	if !inject.Injected(pod) {
		return errors.New("the dry-run pod came back without the sidecar")
	}
	return nil
}
