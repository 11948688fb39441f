package controller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/operator/controller"
	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/sidecar/loader"
	"tollgate.dev/tollgate/internal/testkit/testenv"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:  env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   cache.Options{ByObject: controller.CacheByObject(nil)},
	})
	if err == nil {
		err = (&controller.Reconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("tollgate-operator")}).SetupWithManager(mgr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = env.Stop()
		os.Exit(1)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	_ = env.Stop()
	os.Exit(code)
}

const wait, tick = 10 * time.Second, 50 * time.Millisecond

// secretBound is how soon a policy must follow its Secret's creation or
// deletion: far under the 30s the controller polled with before it watched
// Secrets.
const secretBound = 5 * time.Second

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "reconcile-"}}
	require.NoError(t, env.Client.Create(context.Background(), ns))
	return ns.Name
}

func newPolicy(ns, name string, selector map[string]string) *v1alpha1.LLMPolicy {
	p := &v1alpha1.LLMPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.LLMPolicySpec{
			Providers: []v1alpha1.Provider{{Name: "openai", Type: v1alpha1.ProviderOpenAI, BaseURL: "https://api.openai.com"}},
		},
	}
	if selector != nil {
		p.Spec.PodSelector = v1alpha1.MatchLabels(selector)
	}
	return p
}

func createPod(t *testing.T, ns, name string, podLabels map[string]string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: podLabels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
	}
	require.NoError(t, env.Client.Create(context.Background(), pod))
}

// bundle reads the namespace's rendered bundle, or nil.
func bundle(t *testing.T, ns string) *proxyconfig.Bundle {
	t.Helper()
	var cm corev1.ConfigMap
	err := env.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: inject.ConfigMapName}, &cm)
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(t, err)
	b, err := proxyconfig.Decode([]byte(cm.Data[inject.BundleKey]))
	require.NoError(t, err, "the rendered bundle must decode strictly")
	return b
}

func getPolicy(t *testing.T, ns, name string) *v1alpha1.LLMPolicy {
	t.Helper()
	var p v1alpha1.LLMPolicy
	require.NoError(t, env.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &p))
	return &p
}

func condition(p *v1alpha1.LLMPolicy, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(p.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}

func TestReconcile_RendersBundleAndReportsReady(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	createPod(t, ns, "chat-1", map[string]string{"app": "chat"})
	createPod(t, ns, "other", map[string]string{"app": "other"})
	require.NoError(t, env.Client.Create(ctx, newPolicy(ns, "chat", map[string]string{"app": "chat"})))

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		p := getPolicy(t, ns, "chat")
		ready := condition(p, v1alpha1.ConditionReady)
		assert.Equal(c, metav1.ConditionTrue, ready.Status)
		assert.Equal(c, v1alpha1.ReasonRendered, ready.Reason)
		assert.Equal(c, p.Generation, p.Status.ObservedGeneration)
		assert.Equal(c, int32(1), p.Status.MatchedPods)
		assert.Equal(c, metav1.ConditionFalse, condition(p, v1alpha1.ConditionConflict).Status)
	}, wait, tick)

	b := bundle(t, ns)
	require.NotNil(t, b)
	require.Len(t, b.Policies, 1)
	got := b.Policies[0]
	assert.Equal(t, "chat", got.Name)
	assert.Equal(t, ns, got.Namespace)
	assert.Equal(t, map[string]string{"app": "chat"}, got.Selector.MatchLabels)
	assert.NotZero(t, got.Timeouts.Total, "defaults are resolved in the bundle")

	// A pod whose labels change to match is counted.
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var pod corev1.Pod
		require.NoError(t, env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "other"}, &pod))
		pod.Labels["app"] = "chat"
		return env.Client.Update(ctx, &pod)
	}))
	require.Eventually(t, func() bool { return getPolicy(t, ns, "chat").Status.MatchedPods == 2 }, wait, tick)
}

func TestReconcile_SpecEditReRendersBundle(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	require.NoError(t, env.Client.Create(ctx, newPolicy(ns, "p", nil)))
	require.Eventually(t, func() bool { return bundle(t, ns) != nil }, wait, tick)

	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p := getPolicy(t, ns, "p")
		p.Spec.Timeouts.Total = "170s"
		return env.Client.Update(ctx, p)
	}))
	require.Eventually(t, func() bool {
		b := bundle(t, ns)
		return b != nil && b.Policies[0].Timeouts.Total.D() == 170*time.Second
	}, wait, tick)
	require.Eventually(t, func() bool {
		p := getPolicy(t, ns, "p")
		return p.Status.ObservedGeneration == p.Generation
	}, wait, tick)
}

func TestReconcile_OverlapMarksNewerPolicyConflicted(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	createPod(t, ns, "chat-1", map[string]string{"app": "chat"})
	require.NoError(t, env.Client.Create(ctx, newPolicy(ns, "everything", nil)))
	require.Eventually(t, func() bool {
		return condition(getPolicy(t, ns, "everything"), v1alpha1.ConditionReady).Status == metav1.ConditionTrue
	}, wait, tick)
	// Creation timestamps have one-second resolution: make the second
	// policy clearly newer.
	time.Sleep(1100 * time.Millisecond)
	require.NoError(t, env.Client.Create(ctx, newPolicy(ns, "chat", map[string]string{"app": "chat"})))

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		p := getPolicy(t, ns, "chat")
		conflict := condition(p, v1alpha1.ConditionConflict)
		assert.Equal(c, metav1.ConditionTrue, conflict.Status)
		assert.Equal(c, v1alpha1.ReasonOverlap, conflict.Reason)
		assert.Contains(c, conflict.Message, "chat-1")
		assert.Contains(c, conflict.Message, "older policy everything")
		assert.Equal(c, int32(0), p.Status.MatchedPods)
		assert.Equal(c, int32(1), getPolicy(t, ns, "everything").Status.MatchedPods)
	}, wait, tick)
	requireEvent(t, ns, "chat", v1alpha1.ReasonOverlap, "older policy everything")

	b := bundle(t, ns)
	require.NotNil(t, b)
	require.Len(t, b.Policies, 2)
	assert.Equal(t, "everything", b.Policies[0].Name, "the oldest policy comes first: it wins")
}

// A policy naming a Secret that does not exist is not Ready; the Secret's
// creation and deletion are watched (metadata only), so the policy follows
// within moments, not at the next poll. The key cannot be seen in metadata:
// the condition says the kubelet checks it.
func TestReconcile_CredentialsSecretCreatedOrDeletedTurnsThePolicyReadyOrNot(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	p := newPolicy(ns, "keyed", nil)
	p.Spec.Providers[0].CredentialsSecretRef = &v1alpha1.SecretKeyRef{Name: "openai-key", Key: "apiKey"}
	require.NoError(t, env.Client.Create(ctx, p))

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		ready := condition(getPolicy(t, ns, "keyed"), v1alpha1.ConditionReady)
		assert.Equal(c, metav1.ConditionFalse, ready.Status)
		assert.Equal(c, v1alpha1.ReasonCredentialsNotFound, ready.Reason)
		assert.Contains(c, ready.Message, "Secret openai-key (spec.providers[openai].credentialsSecretRef) does not exist")
		assert.Contains(c, ready.Message, `"apiKey"`)
	}, wait, tick)
	requireEvent(t, ns, "keyed", v1alpha1.ReasonCredentialsNotFound, "openai-key")
	assert.NotNil(t, bundle(t, ns), "the bundle is rendered anyway; only the Secret is missing")

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "openai-key", Namespace: ns}, Data: map[string][]byte{"apiKey": []byte("sk-test")}}
	require.NoError(t, env.Client.Create(ctx, secret))
	created := time.Now()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		ready := condition(getPolicy(t, ns, "keyed"), v1alpha1.ConditionReady)
		assert.Equal(c, metav1.ConditionTrue, ready.Status)
		assert.Contains(c, ready.Message, `credentials: Secret openai-key exists (key "apiKey"); the kubelet checks the keys`)
	}, secretBound, tick, "Ready within %s of the Secret's creation", secretBound)
	t.Logf("Secret created → Ready in %s", time.Since(created).Round(time.Millisecond))

	var cm corev1.ConfigMap
	require.NoError(t, env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: inject.ConfigMapName}, &cm))
	assert.NotContains(t, cm.Data[inject.BundleKey], "sk-test", "keys never reach the ConfigMap")

	require.NoError(t, env.Client.Delete(ctx, secret))
	deleted := time.Now()
	require.Eventually(t, func() bool {
		return condition(getPolicy(t, ns, "keyed"), v1alpha1.ConditionReady).Reason == v1alpha1.ReasonCredentialsNotFound
	}, secretBound, tick, "not Ready within %s of the Secret's deletion", secretBound)
	t.Logf("Secret deleted → CredentialsNotFound in %s", time.Since(deleted).Round(time.Millisecond))
}

// A Secret no policy names enqueues nothing: most of a cluster's Secrets
// are not credentials.
func TestReconcile_SecretsNoPolicyNamesAreIgnored(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	require.NoError(t, env.Client.Create(ctx, newPolicy(ns, "p", nil)))
	require.Eventually(t, func() bool {
		return condition(getPolicy(t, ns, "p"), v1alpha1.ConditionReady).Status == metav1.ConditionTrue
	}, wait, tick)
	time.Sleep(500 * time.Millisecond) // let the policy's own events settle
	before := controller.Reconciles()
	for i := range 5 {
		require.NoError(t, env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%d", i), Namespace: ns}}))
	}
	time.Sleep(time.Second)
	assert.Equal(t, before, controller.Reconciles(), "no reconcile for Secrets no policy names")
}

func TestReconcile_DeletingLastPolicyRemovesBundle(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	a, b := newPolicy(ns, "a", nil), newPolicy(ns, "b", map[string]string{"x": "y"})
	require.NoError(t, env.Client.Create(ctx, a))
	require.NoError(t, env.Client.Create(ctx, b))
	require.Eventually(t, func() bool { bb := bundle(t, ns); return bb != nil && len(bb.Policies) == 2 }, wait, tick)

	require.NoError(t, env.Client.Delete(ctx, a))
	require.Eventually(t, func() bool {
		bb := bundle(t, ns)
		return bb != nil && len(bb.Policies) == 1 && bb.Policies[0].Name == "b"
	}, wait, tick)
	require.NoError(t, env.Client.Delete(ctx, b))
	require.Eventually(t, func() bool { return bundle(t, ns) == nil }, wait, tick)
}

func TestReconcile_RepairsAHandEditedBundle(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	require.NoError(t, env.Client.Create(ctx, newPolicy(ns, "p", nil)))
	require.Eventually(t, func() bool { return bundle(t, ns) != nil }, wait, tick)

	var cm corev1.ConfigMap
	require.NoError(t, env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: inject.ConfigMapName}, &cm))
	want := cm.Data[inject.BundleKey]
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		require.NoError(t, env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: inject.ConfigMapName}, &cm))
		cm.Data[inject.BundleKey] = `{"apiVersion":"proxyconfig.tollgate.dev/v1","kind":"Bundle","policies":[]}`
		return env.Client.Update(ctx, &cm)
	}))
	require.Eventually(t, func() bool {
		var got corev1.ConfigMap
		require.NoError(t, env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: inject.ConfigMapName}, &got))
		return got.Data[inject.BundleKey] == want
	}, wait, tick)
}

func TestReconcile_SettlesWithoutRewriting(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	createPod(t, ns, "chat-1", map[string]string{"app": "chat"})
	require.NoError(t, env.Client.Create(ctx, newPolicy(ns, "p", nil)))
	require.Eventually(t, func() bool {
		return condition(getPolicy(t, ns, "p"), v1alpha1.ConditionReady).Status == metav1.ConditionTrue
	}, wait, tick)

	// Once settled, neither the policy nor its ConfigMap is written again:
	// the reconciler's own writes do not retrigger it into a loop.
	var cm corev1.ConfigMap
	require.NoError(t, env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: inject.ConfigMapName}, &cm))
	policyVersion, cmVersion := getPolicy(t, ns, "p").ResourceVersion, cm.ResourceVersion
	time.Sleep(time.Second)
	require.NoError(t, env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: inject.ConfigMapName}, &cm))
	assert.Equal(t, policyVersion, getPolicy(t, ns, "p").ResourceVersion)
	assert.Equal(t, cmVersion, cm.ResourceVersion)
}

func requireEvent(t *testing.T, ns, policy, reason, noteContains string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var list eventsv1.EventList
		if !assert.NoError(c, env.Client.List(context.Background(), &list, client.InNamespace(ns))) {
			return
		}
		found := false
		for _, e := range list.Items {
			if e.Regarding.Name == policy && e.Reason == reason && e.Type == corev1.EventTypeWarning && strings.Contains(e.Note, noteContains) {
				found = true
			}
		}
		assert.True(c, found, "a Warning event %s on %s mentioning %q; have %s", reason, policy, noteContains, describe(list))
	}, wait, tick)
}

func describe(list eventsv1.EventList) string {
	out, _ := json.Marshal(list.Items)
	return string(out)
}

func TestReconcile_CountsPodsAdmittedWithoutTheSidecar(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "uninjected-", Labels: map[string]string{inject.NamespaceLabel: inject.NamespaceEnabled}}}
	require.NoError(t, env.Client.Create(ctx, ns))
	// No webhook runs in this test: the pods are admitted as they are, as
	// with failurePolicy Ignore while the operator is down.
	createPod(t, ns.Name, "missed", map[string]string{"app": "chat"})
	createPod(t, ns.Name, "opted-out", nil)
	var pod corev1.Pod
	require.NoError(t, env.Client.Get(ctx, types.NamespacedName{Namespace: ns.Name, Name: "opted-out"}, &pod))
	pod.Annotations = map[string]string{inject.InjectAnnotation: "false"}
	require.NoError(t, env.Client.Update(ctx, &pod))

	require.Eventually(t, func() bool {
		return testutil.ToFloat64(controller.UninjectedGauge(ns.Name)) == 1
	}, wait, tick)
}

// A policy the API server accepted under an older, looser schema, but that
// cannot be translated now, is reported Invalid and left out of the
// bundle; the other policies of the namespace are still rendered, and a
// sidecar reading the bundle enforces the good policy on its pods.
func TestReconcile_OneBadPolicyDoesNotStopTheGoodOnes(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	createPod(t, ns, "chat-1", map[string]string{"app": "chat"})
	bad := newPolicy(ns, "bad", nil) // older, and selects every pod
	bad.Spec.Timeouts = &v1alpha1.Timeouts{Total: "forever"}
	require.NoError(t, env.CreateUnderOlderSchema(ctx, bad, testenv.RelaxTotalTimeout))
	time.Sleep(1100 * time.Millisecond) // creationTimestamp has a resolution of a second
	require.NoError(t, env.Client.Create(ctx, newPolicy(ns, "good", map[string]string{"app": "chat"})))

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		ready := condition(getPolicy(t, ns, "bad"), v1alpha1.ConditionReady)
		assert.Equal(c, metav1.ConditionFalse, ready.Status)
		assert.Equal(c, v1alpha1.ReasonInvalid, ready.Reason)
		assert.Contains(c, ready.Message, `spec.timeouts.total: Invalid value: "forever"`)
		good := getPolicy(t, ns, "good")
		assert.Equal(c, metav1.ConditionTrue, condition(good, v1alpha1.ConditionReady).Status)
		assert.Equal(c, int32(1), good.Status.MatchedPods, "the pod follows the good policy, not the older bad one")
	}, wait, tick)

	b := bundle(t, ns)
	require.NotNil(t, b)
	require.Len(t, b.Policies, 1)
	assert.Equal(t, "good", b.Policies[0].Name)

	// What the pod's sidecar enforces: the good policy, read from the
	// ConfigMap as it is mounted.
	var cm corev1.ConfigMap
	require.NoError(t, env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: inject.ConfigMapName}, &cm))
	res, err := loader.Parse([]byte(cm.Data[inject.BundleKey]), map[string]string{"app": "chat"})
	require.NoError(t, err)
	require.NotNil(t, res.Policy)
	assert.Equal(t, ns+"/good", res.Policy.Ref())
}

func TestReconcile_TheDryRunConditionIsThereExactlyWhileThePolicyIsInDryRun(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	p := newPolicy(ns, "shadow", nil)
	p.Spec.Mode = v1alpha1.ModeDryRun
	require.NoError(t, env.Client.Create(ctx, p))

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		dry := condition(getPolicy(t, ns, "shadow"), v1alpha1.ConditionDryRun)
		assert.Equal(c, metav1.ConditionFalse, dry.Status)
		assert.Equal(c, v1alpha1.ReasonNothingToDo, dry.Reason)
		assert.Contains(c, dry.Message, "runs no budget ledger", "this reconciler has no ledger: it says where the counts are instead")
	}, wait, tick)
	b := bundle(t, ns)
	require.NotNil(t, b)
	assert.Equal(t, proxyconfig.ModeDryRun, b.Policies[0].Mode)

	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p := getPolicy(t, ns, "shadow")
		p.Spec.Mode = v1alpha1.ModeEnforce
		return env.Client.Update(ctx, p)
	}))
	require.Eventually(t, func() bool {
		p := getPolicy(t, ns, "shadow")
		return p.Status.ObservedGeneration == p.Generation && meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionDryRun) == nil
	}, wait, tick, "enforcing, the policy has no DryRun condition")
	assert.Empty(t, bundle(t, ns).Policies[0].Mode, "an enforcing policy's bundle reads as before modes existed")
}

// bigPolicy is a policy of 16 providers that allow 64 long model names
// each: about 200 KiB of bundle.
func bigPolicy(ns, name string) *v1alpha1.LLMPolicy {
	p := newPolicy(ns, name, map[string]string{"app": name})
	p.Spec.Providers = nil
	for i := range 16 {
		pr := v1alpha1.Provider{Name: fmt.Sprintf("server-%02d", i), Type: v1alpha1.ProviderOpenAICompatible, BaseURL: fmt.Sprintf("http://llm-%02d.models.svc:8000", i)}
		for m := range 64 {
			pr.Models = append(pr.Models, fmt.Sprintf("%s-%03d", strings.Repeat("m", 190), m))
		}
		p.Spec.Providers = append(p.Spec.Providers, pr)
	}
	return p
}

func TestReconcile_ABundleTooLargeForAConfigMapIsSaidOnEveryPolicy(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	for i := range 6 {
		require.NoError(t, env.Client.Create(ctx, bigPolicy(ns, fmt.Sprintf("p%d", i))))
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for i := range 6 {
			ready := condition(getPolicy(t, ns, fmt.Sprintf("p%d", i)), v1alpha1.ConditionReady)
			assert.Equal(c, metav1.ConditionFalse, ready.Status, "p%d", i)
			assert.Equal(c, v1alpha1.ReasonBundleTooLarge, ready.Reason, "p%d", i)
			assert.Contains(c, ready.Message, "over the 1 MiB a ConfigMap holds", "p%d", i)
		}
	}, wait, tick)
	if b := bundle(t, ns); b != nil {
		assert.Less(t, len(b.Policies), 6, "the sidecars keep the last bundle that fit")
	}

	require.NoError(t, env.Client.Delete(ctx, getPolicy(t, ns, "p5")))
	require.NoError(t, env.Client.Delete(ctx, getPolicy(t, ns, "p4")))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for i := range 4 {
			assert.Equal(c, v1alpha1.ReasonRendered, condition(getPolicy(t, ns, fmt.Sprintf("p%d", i)), v1alpha1.ConditionReady).Reason, "p%d", i)
		}
	}, wait, tick)
	b := bundle(t, ns)
	require.NotNil(t, b)
	assert.Equal(t, 4, len(b.Policies))
}
