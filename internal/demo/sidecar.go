package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/testkit/proc"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Settings the demo adds to the injected sidecar arguments: short, so that
// a missed file event costs little time, and spend reaches the ledger (and
// the ledger's word the sidecar) within a moment rather than a second.
const (
	reloadInterval = "200ms"
	ledgerInterval = "100ms"
)

// runningPod is one of the demo's pods as this machine runs it: what the
// webhook injected, the sidecar container's file system, the sidecar
// process and the app's client.
type runningPod struct {
	name string
	view podView
	// container is the sidecar's file system on this machine.
	container containerRoot
	sidecar   *proc.Process
	// proxyAddr and adminAddr are where the sidecar listens.
	proxyAddr, adminAddr string
	app                  *app
}

// first is the pod the traffic steps before the budget's go through.
func (d *demo) first() *runningPod { return d.pods[0] }

// startSidecars plays the kubelet for each pod's sidecar container, one
// pod after the other.
func (d *demo) startSidecars(ctx context.Context) (string, error) {
	var loaded loadedConfig
	for i, p := range d.pods {
		var err error
		if loaded, err = d.startSidecar(ctx, p, i == 0); err != nil {
			return "", fmt.Errorf("pod %s: %w", p.name, err)
		}
	}
	return fmt.Sprintf("%d sidecars ready, enforcing %s gen. %d; ledger reached", len(d.pods), loaded.Policy.Ref(), loaded.Policy.Generation), nil
}

// startSidecar does what the kubelet would do for p's sidecar container:
// it writes the pod's volumes (the rendered ConfigMap, the labels file, a
// token bound to the pod, the state directory) under a directory standing
// for the container's file system, and runs the sidecar binary with the
// injected environment and arguments, their paths moved there and its
// ports moved to free ones. detailed narrates the files.
func (d *demo) startSidecar(ctx context.Context, p *runningPod, detailed bool) (loadedConfig, error) {
	pod, c := p.view.pod, p.view.sidecar
	p.container = containerRoot{dir: filepath.Join(d.work, "pods", p.name, inject.ContainerName)}
	src := volumeSources{
		configMap: func(name string) (*corev1.ConfigMap, error) { return d.configMap(ctx, name) },
		token: func(audience string, expirationSeconds int64) ([]byte, error) {
			return d.podToken(ctx, pod, audience, expirationSeconds)
		},
	}
	if err := p.container.mountVolumes(pod, c, src); err != nil {
		return loadedConfig{}, err
	}
	env, err := containerEnv(pod, c)
	if err != nil {
		return loadedConfig{}, err
	}
	if detailed {
		if err := d.showVolumes(p); err != nil {
			return loadedConfig{}, err
		}
	} else {
		d.say.say("the kubelet's part for %s: the same volumes under %s, with a token bound to %s and a state directory of its own", p.name, p.container.dir, p.name)
	}

	// Port 0: the kernel picks free ports, and the sidecar logs them.
	args, err := hostArgs(c.Args, p.container, map[string]string{"--listen": "127.0.0.1:0", "--admin": "127.0.0.1:0"})
	if err != nil {
		return loadedConfig{}, err
	}
	args = append(args, "--reload-interval="+reloadInterval, "--ledger-interval="+ledgerInterval)
	d.say.command("%s go run ./cmd/sidecar %s", strings.Join(env, " "), strings.Join(args, " "))
	if p.sidecar, err = d.startProcess("sidecar "+p.name, d.bins.sidecar, args, env); err != nil {
		return loadedConfig{}, err
	}
	if err := waitFor(ctx, "the sidecar to start", p.started); err != nil {
		return loadedConfig{}, err
	}
	var loaded loadedConfig
	if err := waitFor(ctx, "the sidecar to be ready and reach the budget ledger", func(ctx context.Context) error {
		if err := p.sidecar.Err(); err != nil {
			return permanent(err)
		}
		if err := httpOK(ctx, "http://"+p.adminAddr+"/readyz"); err != nil {
			return err
		}
		var err error
		if loaded, err = p.config(ctx); err != nil {
			return err
		}
		switch b := loaded.Budget; {
		case loaded.Policy == nil || loaded.Policy.Ref() != demoNamespace+"/"+policyName:
			return permanent(fmt.Errorf("the sidecar is ready but does not enforce %s/%s: %s", demoNamespace, policyName, loaded.Source))
		case b == nil || b.Mode != "ledger":
			return permanent(fmt.Errorf("the sidecar keeps the budget to itself, not through the ledger: %+v", b))
		case b.LastSync == "":
			return errors.New("no sync with the ledger yet")
		}
		return nil
	}); err != nil {
		return loadedConfig{}, err
	}
	if p.app, err = d.newApp(p); err != nil {
		return loadedConfig{}, err
	}
	d.say.command("curl http://%s/config", p.adminAddr)
	d.say.block(fmt.Sprintf("source: %s\nbudget: mode %s, urls %s, reachable %t, state %s, allowance %s USD",
		loaded.Source, loaded.Budget.Mode, strings.Join(loaded.Budget.URLs, ","), loaded.Budget.Reachable, loaded.Budget.State, loaded.Budget.Allowance))
	d.say.say("%s's OPENAI_BASE_URL, with the port its sidecar listens on here: %s", p.name, p.app.baseURL)
	return loaded, nil
}

// showVolumes narrates the files the kubelet wrote for p's sidecar.
func (d *demo) showVolumes(p *runningPod) error {
	d.say.say("the kubelet's part for %s: the sidecar's volumes, under %s", p.name, p.container.dir)
	for _, m := range p.view.sidecar.VolumeMounts {
		entries, _ := os.ReadDir(p.container.path(m.MountPath))
		var names []string
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "..") {
				names = append(names, e.Name())
			}
		}
		files := strings.Join(names, ", ")
		if files == "" {
			files = "(empty)"
		}
		d.say.block(fmt.Sprintf("%s (volume %s): %s", m.MountPath, m.Name, files))
	}
	labels, err := os.ReadFile(p.container.path(path.Join(inject.PodInfoDir, inject.PodLabelsFile)))
	if err != nil {
		return fmt.Errorf("the labels file was not written: %w", err)
	}
	d.say.block(fmt.Sprintf("%s/%s: %s", inject.PodInfoDir, inject.PodLabelsFile, labels))
	if _, err := os.Stat(p.container.path(path.Join(inject.ConfigDir, inject.LedgerCAKey))); err != nil {
		return fmt.Errorf("the ConfigMap has no %s for the sidecar to trust the ledger with: %w", inject.LedgerCAKey, err)
	}
	d.say.block(fmt.Sprintf("%s/%s: the CA of the ledger's certificate, which the operator publishes in ConfigMap %s", inject.ConfigDir, inject.LedgerCAKey, inject.ConfigMapName))
	d.say.block(fmt.Sprintf("%s/%s: a TokenRequest of ServiceAccount %s, audience %s, bound to pod %s (UID %s)",
		inject.TokenDir, inject.TokenFile, p.view.pod.Spec.ServiceAccountName, inject.TokenAudience, p.name, p.view.pod.UID))
	return nil
}

// podToken is the token the kubelet asks for a projected
// serviceAccountToken: one of the pod's ServiceAccount, bound to the pod,
// so that it stops being valid once the pod is gone.
func (d *demo) podToken(ctx context.Context, pod *corev1.Pod, audience string, expirationSeconds int64) ([]byte, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tr := &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{
		Audiences:         []string{audience},
		ExpirationSeconds: ptr.To(expirationSeconds),
		BoundObjectRef:    &authnv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	got, err := d.clientset.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, tr, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("TokenRequest of ServiceAccount %s/%s: %w", pod.Namespace, sa, err)
	}
	return []byte(got.Status.Token), nil
}

// started reads the proxy and admin addresses from the sidecar's start log
// line.
func (p *runningPod) started(context.Context) error {
	for _, l := range p.sidecar.Log().JSONLines() {
		if l["msg"] == "tollgate-sidecar started" {
			listen, _ := l["listen"].(string)
			admin, _ := l["admin"].(string)
			p.proxyAddr, p.adminAddr = listen, admin
			return nil
		}
	}
	if err := p.sidecar.Err(); err != nil {
		return permanent(err)
	}
	return errors.New("no start line in its log yet")
}

// loadedConfig is the sidecar's /config answer.
type loadedConfig struct {
	Source string              `json:"source"`
	Policy *proxyconfig.Policy `json:"policy"`
	Budget *ledgerView         `json:"budget"`
}

// ledgerView is the sidecar's standing with the budget ledger, in /config.
type ledgerView struct {
	Mode      string   `json:"mode"`
	URLs      []string `json:"urls"`
	Reachable bool     `json:"reachable"`
	// LastSync is when a sync with the ledger last succeeded.
	LastSync string `json:"lastSync"`
	// State is the policy's budget state as the ledger last said.
	State string `json:"state"`
	// Allowance is what the pod may still spend without asking.
	Allowance string `json:"allowance"`
}

func (p *runningPod) config(ctx context.Context) (loadedConfig, error) {
	var c loadedConfig
	err := getJSON(ctx, "http://"+p.adminAddr+"/config", &c)
	return c, err
}

// policyLoaded is the sidecar's log line of the policy generation it
// loaded: from which file, or "the budget ledger", and when.
func (p *runningPod) policyLoaded(generation int64) (source string, at time.Time, ok bool) {
	for _, l := range p.sidecar.Log().JSONLines() {
		if l["msg"] != "policy loaded" {
			continue
		}
		if g, _ := l["generation"].(float64); int64(g) != generation {
			continue
		}
		source, _ = l["file"].(string)
		ts, _ := l["ts"].(string)
		at, err := time.Parse(logTimeLayout, ts)
		return source, at, err == nil
	}
	return "", time.Time{}, false
}

// logTimeLayout is the sidecar's log time (zap's ISO8601 encoder).
const logTimeLayout = "2006-01-02T15:04:05.000Z0700"
