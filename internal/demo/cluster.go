package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/operator/controller"
	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/operator/webhook"
	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/internal/testkit/testenv"
	"tollgate.dev/tollgate/pkg/pricing"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// operatorNamespace is the namespace the webhook configuration leaves out,
// as the chart's does; the demo's operator runs outside the cluster.
const operatorNamespace = "tollgate-system"

// pollInterval is how often the demo checks for something it waits for.
const pollInterval = 100 * time.Millisecond

// startControlPlane starts kube-apiserver and etcd with the chart's
// webhook configuration pointing at 127.0.0.1, and the mock provider.
func (d *demo) startControlPlane(ctx context.Context) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	hooks := webhook.Configuration(webhook.ConfigurationOptions{
		OperatorNamespace: operatorNamespace,
		ClientConfig:      admissionregistrationv1.WebhookClientConfig{URL: ptr.To(fmt.Sprintf("https://127.0.0.1:%d%s", port, webhook.Path))},
	})
	d.say.say("kube-apiserver and etcd come from bin/k8s/ (`make control-plane` builds them once), started as the tests start them;")
	d.say.say("envtest makes a serving certificate for 127.0.0.1 and installs the chart's MutatingWebhookConfiguration with a URL there and that certificate's CA: the operator uses those files (--cert-management=external).")
	env, err := testenv.StartWithWebhooks(envtest.WebhookInstallOptions{
		LocalServingHost: "127.0.0.1",
		LocalServingPort: port,
		MutatingWebhooks: []*admissionregistrationv1.MutatingWebhookConfiguration{hooks},
	})
	if err != nil {
		return "", err
	}
	d.env = env
	if d.clientset, err = kubernetes.NewForConfig(env.Config); err != nil {
		return "", err
	}
	if u, err := url.Parse(env.Config.Host); err == nil {
		d.apiServer = u.Host
	}
	d.say.command("export KUBECONFIG=%s   # kubectl: %s", env.Kubeconfig, d.relative(env.Kubectl))
	d.say.command("kubectl get mutatingwebhookconfigurations,crds")
	out, err := d.kubectl(ctx, nil, "get", "mutatingwebhookconfigurations,crds")
	if err != nil {
		return "", err
	}
	d.say.block(out)
	if !strings.Contains(out, webhook.ConfigurationName) || !strings.Contains(out, "llmpolicies.tollgate.dev") {
		return "", fmt.Errorf("the API server lists no %s webhook configuration or LLMPolicy CRD:\n%s", webhook.ConfigurationName, out)
	}

	if d.mock, err = mockprovider.Start("127.0.0.1:0"); err != nil {
		return "", fmt.Errorf("start the mock provider: %w", err)
	}
	d.say.say("mock provider (in-process) at %s; by hand: go run ./cmd/mock-provider --listen 127.0.0.1:8089", d.mock.URL())
	if d.manifests, err = readManifests(d.root, d.mock.URL()); err != nil {
		return "", err
	}
	return fmt.Sprintf("apiserver %s, webhook :%d, mock %s", d.apiServer, port, strings.TrimPrefix(d.mock.URL(), "http://")), nil
}

// applyPolicy applies the namespace and the policy with kubectl, and waits
// for the operator to render the policy.
func (d *demo) applyPolicy(ctx context.Context) (string, error) {
	for _, m := range []struct {
		file string
		data []byte
	}{{"namespace.yaml", d.manifests.namespace}, {"policy.yaml", d.manifests.policy}} {
		d.say.command("kubectl apply -f %s/%s", samplesDir, m.file)
		out, err := d.kubectl(ctx, m.data, "apply", "-f", "-")
		if err != nil {
			return "", err
		}
		d.say.block(out)
	}
	d.say.say("(the demo's policy.yaml points baseURL at its mock, %s)", d.mock.URL())
	p, err := d.waitRendered(ctx, 1)
	if err != nil {
		return "", err
	}
	d.say.command("kubectl -n %s get llmpolicies", demoNamespace)
	out, err := d.kubectl(ctx, nil, "-n", demoNamespace, "get", "llmpolicies")
	if err != nil {
		return "", err
	}
	d.say.block(out)
	cm, bundle, err := d.bundle(ctx)
	if err != nil {
		return "", err
	}
	if bundle == nil || len(bundle.Policies) != 1 || bundle.Policies[0].Name != policyName || bundle.Policies[0].Generation != p.Generation {
		return "", fmt.Errorf("ConfigMap %s does not hold policy %s generation %d: %v", inject.ConfigMapName, policyName, p.Generation, bundle)
	}
	if cm.Data[inject.LedgerCAKey] == "" {
		return "", fmt.Errorf("ConfigMap %s has no %s: the sidecars could not trust the ledger", inject.ConfigMapName, inject.LedgerCAKey)
	}
	if d.prices, err = pricing.Builtin().WithOverrides(bundle.Policies[0].Pricing); err != nil {
		return "", err
	}
	d.bundleHash = cm.Annotations[controller.BundleHashAnnotation]
	d.say.command("kubectl -n %s get configmap %s -o jsonpath='{.data.bundle\\.json}'", demoNamespace, inject.ConfigMapName)
	d.say.say("bundle.json: %d bytes, policy %s generation %d, hash %s; %s: the ledger's CA", len(cm.Data[inject.BundleKey]),
		bundle.Policies[0].Ref(), bundle.Policies[0].Generation, short(d.bundleHash), inject.LedgerCAKey)
	return fmt.Sprintf("Ready=True (%s); the bundle holds generation %d", readyReason(p), p.Generation), nil
}

// waitRendered waits until the policy's status says generation is
// rendered, and returns the policy.
func (d *demo) waitRendered(ctx context.Context, generation int64) (*v1alpha1.LLMPolicy, error) {
	var p v1alpha1.LLMPolicy
	err := waitFor(ctx, fmt.Sprintf("LLMPolicy %s generation %d to be Ready", policyName, generation), func(ctx context.Context) error {
		if err := d.env.Client.Get(ctx, client.ObjectKey{Namespace: demoNamespace, Name: policyName}, &p); err != nil {
			return err
		}
		c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady)
		switch {
		case p.Generation != generation:
			return fmt.Errorf("the policy is at generation %d", p.Generation)
		case p.Status.ObservedGeneration != generation || c == nil:
			return fmt.Errorf("the operator has not written the status of generation %d yet", generation)
		case c.Status != metav1.ConditionTrue:
			return fmt.Errorf("Ready=%s %s: %s", c.Status, c.Reason, c.Message)
		}
		return nil
	})
	return &p, err
}

func readyReason(p *v1alpha1.LLMPolicy) string {
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady); c != nil {
		return c.Reason
	}
	return ""
}

// bundle reads the namespace's rendered ConfigMap and decodes its bundle;
// both nil while there is none.
func (d *demo) bundle(ctx context.Context) (*corev1.ConfigMap, *proxyconfig.Bundle, error) {
	cm, err := d.configMap(ctx, inject.ConfigMapName)
	if err != nil || cm == nil {
		return cm, nil, err
	}
	b, err := proxyconfig.Decode([]byte(cm.Data[inject.BundleKey]))
	if err != nil {
		return cm, nil, fmt.Errorf("ConfigMap %s: %w", inject.ConfigMapName, err)
	}
	return cm, b, nil
}

// configMap reads a ConfigMap of the demo's namespace; nil when it does not
// exist.
func (d *demo) configMap(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	var cm corev1.ConfigMap
	err := d.env.Client.Get(ctx, client.ObjectKey{Namespace: demoNamespace, Name: name}, &cm)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &cm, nil
}

// kubectl runs kubectl against the control plane, with stdin if not nil,
// and returns its output.
func (d *demo) kubectl(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, d.env.Kubectl, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+d.env.Kubeconfig)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// relative shows path relative to the repository when it is inside it.
func (d *demo) relative(path string) string {
	if rel, err := filepath.Rel(d.root, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

// errPermanent marks an error waitFor should not wait out.
type errPermanent struct{ error }

func (e errPermanent) Unwrap() error { return e.error }

// permanent makes waitFor give up at once with err.
func permanent(err error) error { return errPermanent{err} }

// waitFor calls check every pollInterval until it returns nil, returns a
// permanent error, or ctx ends; the error then says what was awaited and
// how the last check failed.
func waitFor(ctx context.Context, what string, check func(ctx context.Context) error) error {
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		var p errPermanent
		if errors.As(err, &p) {
			return fmt.Errorf("waiting for %s: %w", what, p.error)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w; last: %v", what, ctx.Err(), err)
		case <-time.After(pollInterval):
		}
	}
}

// httpOK GETs url and reports any answer other than 200.
func httpOK(ctx context.Context, url string) error {
	_, err := httpGet(ctx, url)
	return err
}

// httpGet GETs url and returns the body of a 200 answer.
func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(body.String()))
	}
	return body.Bytes(), nil
}

// getJSON GETs url and decodes its JSON answer into v.
func getJSON(ctx context.Context, url string, v any) error {
	b, err := httpGet(ctx, url)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// freePort returns a port free on 127.0.0.1 a moment ago, for servers
// whose address must be known before they start.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// short is the first characters of a hash, for narration.
func short(hash string) string {
	return hash[:min(len(hash), 12)]
}
