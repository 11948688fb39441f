package ledgerbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/testkit/testenv"
)

// setupWorkers is how many objects are created at once.
const setupWorkers = 32

// tokenSeconds is how long the pods' tokens last: longer than a run, so
// that none expires during it.
const tokenSeconds = 3600

// policyLabel is the pod label that says which policy selects the pod.
const policyLabel = "bench.tollgate.dev/policy"

// workloads is how many Deployments the pods of a policy belong to.
const workloads = 10

// cluster is the control plane, with clients that are not rate-limited:
// the setup creates thousands of objects.
type cluster struct {
	env *testenv.Env
	c   client.WithWatch
	cs  kubernetes.Interface
}

// startCluster starts kube-apiserver and etcd and installs the CRDs.
func startCluster() (*cluster, error) {
	env, err := testenv.Start()
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &cluster{env: env, c: c, cs: cs}, nil
}

func (c *cluster) stop() error { return c.env.Stop() }

// benchPod is one simulated sidecar's pod: its identity and the token of
// its ServiceAccount bound to it, also written to tokenFile as the kubelet
// would.
type benchPod struct {
	name, uid, policy string
	token, tokenFile  string
}

// workload is what one scenario created: a namespace with policies, each
// selecting its share of the pods.
type workload struct {
	ns       string
	policies []*v1alpha1.LLMPolicy
	pods     []benchPod
}

// create makes a namespace with nPolicies policies and nPods pods spread
// over them round-robin, and a token per pod, written under dir.
func (c *cluster) create(ctx context.Context, name string, nPolicies, nPods int, dir string) (*workload, error) {
	w := &workload{ns: name}
	if err := c.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", name, err)
	}
	if err := c.c.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: name}}); err != nil {
		return nil, fmt.Errorf("create ServiceAccount %s/app: %w", name, err)
	}
	for i := range nPolicies {
		p := benchPolicy(name, fmt.Sprintf("p%d", i))
		if err := c.c.Create(ctx, p); err != nil {
			return nil, fmt.Errorf("create LLMPolicy %s/%s: %w", name, p.Name, err)
		}
		w.policies = append(w.policies, p)
	}
	w.pods = make([]benchPod, nPods)
	err := forEach(ctx, nPods, setupWorkers, func(i int) error {
		policy := w.policies[i%nPolicies].Name
		p, err := c.createPod(ctx, name, fmt.Sprintf("app-%d", i), policy, fmt.Sprintf("chat-%s-%d", policy, (i/nPolicies)%workloads))
		if err != nil {
			return err
		}
		token, err := c.token(ctx, p)
		if err != nil {
			return err
		}
		file := filepath.Join(dir, p.Name+".token")
		if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
			return err
		}
		w.pods[i] = benchPod{name: p.Name, uid: string(p.UID), policy: policy, token: token, tokenFile: file}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// benchPolicy is a policy with a budget too large to run out, selecting
// the pods labelled with its name. Its provider is never called: only the
// ledger runs.
func benchPolicy(ns, name string) *v1alpha1.LLMPolicy {
	return &v1alpha1.LLMPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.LLMPolicySpec{
			PodSelector: &v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{policyLabel: v1alpha1.LabelValue(name)}},
			Providers:   []v1alpha1.Provider{{Name: "openai", Type: v1alpha1.ProviderOpenAI, BaseURL: "http://127.0.0.1:9"}},
			Pricing:     []v1alpha1.ModelPrice{{Model: "gpt-4o-mini", InputPerMillion: "0.15", OutputPerMillion: "0.6"}},
			Budget:      &v1alpha1.Budget{Limit: "1000000", Period: v1alpha1.BudgetMonthly},
		},
	}
}

// createPod creates a pod of Deployment workload (through a ReplicaSet
// that does not exist: nothing here collects garbage), selected by policy.
func (c *cluster) createPod(ctx context.Context, ns, name, policy, workload string) (*corev1.Pod, error) {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels:          map[string]string{"app": "chat", policyLabel: policy, "pod-template-hash": "abc12"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: workload + "-abc12", UID: "rs-uid", Controller: ptr.To(true)}},
		},
		Spec: corev1.PodSpec{ServiceAccountName: "app", Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
	}
	if err := c.c.Create(ctx, p); err != nil {
		return nil, fmt.Errorf("create pod %s/%s: %w", ns, name, err)
	}
	return p, nil
}

// token mints a token of the pod's ServiceAccount bound to the pod, for
// the ledger's audience, as the kubelet mounts it.
func (c *cluster) token(ctx context.Context, p *corev1.Pod) (string, error) {
	tr, err := c.cs.CoreV1().ServiceAccounts(p.Namespace).CreateToken(ctx, p.Spec.ServiceAccountName, &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{
		Audiences: []string{"tollgate"}, ExpirationSeconds: ptr.To[int64](tokenSeconds),
		BoundObjectRef: &authnv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: p.Name, UID: p.UID},
	}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("mint a token for pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return tr.Status.Token, nil
}

// remove deletes the scenario's policies and pods, so that the next
// scenario's operator does not cache them. The namespace stays: without a
// namespace controller its deletion never finishes.
func (c *cluster) remove(ctx context.Context, w *workload) error {
	for _, p := range w.policies {
		if err := client.IgnoreNotFound(c.c.Delete(ctx, p)); err != nil {
			return fmt.Errorf("delete LLMPolicy %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	// No kubelet confirms a pod's end: only a grace period of 0 deletes it.
	err := c.c.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(w.ns), client.GracePeriodSeconds(0))
	if err != nil {
		return fmt.Errorf("delete the pods of %s: %w", w.ns, err)
	}
	return nil
}

// policy reads a policy fresh from the API server.
func (c *cluster) policy(ctx context.Context, ns, name string) (*v1alpha1.LLMPolicy, error) {
	var p v1alpha1.LLMPolicy
	if err := c.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &p); err != nil {
		return nil, fmt.Errorf("read LLMPolicy %s/%s: %w", ns, name, err)
	}
	return &p, nil
}

// forEach calls fn(0) ... fn(n-1) from up to workers goroutines and
// returns the first error; after an error, calls not yet started are
// skipped.
func forEach(ctx context.Context, n, workers int, fn func(i int) error) error {
	var (
		next  atomic.Int64
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	failed := atomic.Bool{}
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed.Load() || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}
