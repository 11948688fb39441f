package webhook

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	v1alpha1 "tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/testkit/testenv"
)

// The tests share the injector's metric and run one after another: none
// calls t.Parallel.

var enabled = map[string]string{inject.NamespaceLabel: inject.NamespaceEnabled}

func TestInjector_InjectsThePodsOfAnOptedInNamespace(t *testing.T) {
	ns := namespace(t, enabled)
	before := admissionCounts()
	pod := createPod(t, ns, nil)

	assert.Equal(t, map[Result]float64{ResultInjected: 1}, admissionCounts().since(before))
	sidecar := sidecarOf(t, pod)
	require.NotNil(t, sidecar.RestartPolicy)
	assert.Equal(t, corev1.ContainerRestartPolicyAlways, *sidecar.RestartPolicy, "a native sidecar")
	assert.Equal(t, testConfig().Image, sidecar.Image)
	assert.Equal(t, "true", pod.Annotations[inject.InjectedAnnotation])
	assert.ElementsMatch(t, []string{inject.ConfigVolume, inject.PodInfoVolume, inject.FailuresVolume}, volumeNames(pod))
	assert.Equal(t, "http://127.0.0.1:15000/openai/v1", envOf(pod.Spec.Containers[0])["OPENAI_BASE_URL"])
	assert.Equal(t, "http://127.0.0.1:15000/anthropic", envOf(pod.Spec.Containers[0])["ANTHROPIC_BASE_URL"])
	assert.Equal(t, "http://127.0.0.1:15000/azure", envOf(pod.Spec.Containers[0])["AZURE_OPENAI_ENDPOINT"])
	assert.Equal(t, "http://127.0.0.1:15000/gemini", envOf(pod.Spec.Containers[0])["GOOGLE_GEMINI_BASE_URL"])
}

func TestInjector_InjectsAPodWithTheOptInLabel(t *testing.T) {
	ns := namespace(t, nil)
	before := admissionCounts()
	pod := createPod(t, ns, func(p *corev1.Pod) { p.Labels = map[string]string{inject.InjectLabel: "true"} })

	assert.Equal(t, map[Result]float64{ResultInjected: 1}, admissionCounts().since(before))
	assert.True(t, inject.Injected(pod))
}

func TestInjector_IsCalledOnceForAPodOptedInTwice(t *testing.T) {
	ns := namespace(t, enabled)
	before := admissionCounts()
	pod := createPod(t, ns, func(p *corev1.Pod) { p.Labels = map[string]string{inject.InjectLabel: "true"} })

	assert.Equal(t, map[Result]float64{ResultInjected: 1}, admissionCounts().since(before),
		"one webhook call: no second call skipped as already injected")
	assert.True(t, inject.Injected(pod))
}

func TestInjector_IsNotCalledForAPodThatDoesNotOptIn(t *testing.T) {
	ns := namespace(t, map[string]string{"team": "a"})
	before := admissionCounts()
	pod := createPod(t, ns, func(p *corev1.Pod) { p.Labels = map[string]string{"app": "chat"} })

	assert.Empty(t, admissionCounts().since(before), "the webhooks' selectors keep the API server from calling")
	assert.False(t, inject.Injected(pod))
	assert.Len(t, pod.Spec.InitContainers, 0)
	assert.Empty(t, envOf(pod.Spec.Containers[0]))
}

func TestInjector_HonoursTheOptOutAnnotation(t *testing.T) {
	ns := namespace(t, enabled)
	before := admissionCounts()
	pod := createPod(t, ns, func(p *corev1.Pod) {
		p.Labels = map[string]string{inject.InjectLabel: "true"}
		p.Annotations = map[string]string{inject.InjectAnnotation: "false"}
	})

	assert.Equal(t, map[Result]float64{ResultSkippedNotWanted: 1}, admissionCounts().since(before))
	assert.False(t, inject.Injected(pod))
	assert.Empty(t, pod.Spec.InitContainers)
	assert.Empty(t, pod.Spec.Volumes)
	assert.NotContains(t, pod.Annotations, inject.InjectedAnnotation)
}

func TestInjector_KeepsTheUsersOpenAIBaseURL(t *testing.T) {
	ns := namespace(t, enabled)
	pod := createPod(t, ns, func(p *corev1.Pod) {
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "OPENAI_BASE_URL", Value: "https://gateway.example.com/v1"}}
	})

	require.True(t, inject.Injected(pod))
	env := pod.Spec.Containers[0].Env
	var values []string
	for _, e := range env {
		if e.Name == "OPENAI_BASE_URL" {
			values = append(values, e.Value)
		}
	}
	assert.Equal(t, []string{"https://gateway.example.com/v1"}, values)
	assert.Equal(t, "http://127.0.0.1:15000/anthropic", envOf(pod.Spec.Containers[0])["ANTHROPIC_BASE_URL"])
}

func TestInjector_LeavesAnAlreadyInjectedSpecAlone(t *testing.T) {
	ns := namespace(t, enabled)
	first := createPod(t, ns, nil)
	require.True(t, inject.Injected(first))

	before := admissionCounts()
	second := createPod(t, ns, func(p *corev1.Pod) {
		p.Annotations = first.Annotations
		p.Spec = *first.Spec.DeepCopy()
	})

	assert.Equal(t, map[Result]float64{ResultSkippedAlreadyInjected: 1}, admissionCounts().since(before))
	assert.Equal(t, containerNames(first.Spec.InitContainers), containerNames(second.Spec.InitContainers), "no second sidecar")
	assert.Equal(t, volumeNames(first), volumeNames(second), "no duplicate volumes")
	assert.Equal(t, first.Spec.Containers[0].Env, second.Spec.Containers[0].Env, "no duplicate variables")
}

func TestInjector_ThePolicyThatSelectsThePodDrivesItsVariablesAndCredentials(t *testing.T) {
	ns := namespace(t, enabled)
	// The older of two policies that select the pod applies, even though
	// the newer one sorts first by name.
	createPolicy(t, ns, "z-older", map[string]string{"app": "chat"}, []v1alpha1.Provider{
		{Name: "gpt", Type: v1alpha1.ProviderOpenAI, CredentialsSecretRef: &v1alpha1.SecretKeyRef{Name: "openai-credentials", Key: "api-key"}},
		{Name: "claude", Type: v1alpha1.ProviderAnthropic, CredentialsSecretRef: &v1alpha1.SecretKeyRef{Name: "llm-keys", Key: "anthropic"}},
		{Name: "azure-east", Type: v1alpha1.ProviderAzureOpenAI, BaseURL: "https://east.openai.azure.com", CredentialsSecretRef: &v1alpha1.SecretKeyRef{Name: "llm-keys", Key: "azure"}},
		{Name: "gemini", Type: v1alpha1.ProviderGemini},
	})
	time.Sleep(1100 * time.Millisecond) // creationTimestamp has a resolution of a second
	createPolicy(t, ns, "a-newer", nil, []v1alpha1.Provider{{Name: "other", Type: v1alpha1.ProviderOpenAI}})
	// A policy that selects other pods does not count.
	createPolicy(t, ns, "batch", map[string]string{"app": "batch"}, []v1alpha1.Provider{{Name: "batch", Type: v1alpha1.ProviderOpenAI}})

	pod := createPod(t, ns, func(p *corev1.Pod) { p.Labels = map[string]string{"app": "chat"} })

	env := envOf(pod.Spec.Containers[0])
	assert.Equal(t, map[string]string{
		"OPENAI_BASE_URL":              "http://127.0.0.1:15000/gpt/v1",
		"ANTHROPIC_BASE_URL":           "http://127.0.0.1:15000/claude",
		"AZURE_OPENAI_ENDPOINT":        "http://127.0.0.1:15000/azure-east",
		"GOOGLE_GEMINI_BASE_URL":       "http://127.0.0.1:15000/gemini",
		"TOLLGATE_GPT_BASE_URL":        "http://127.0.0.1:15000/gpt",
		"TOLLGATE_CLAUDE_BASE_URL":     "http://127.0.0.1:15000/claude",
		"TOLLGATE_AZURE_EAST_BASE_URL": "http://127.0.0.1:15000/azure-east",
		"TOLLGATE_GEMINI_BASE_URL":     "http://127.0.0.1:15000/gemini",
	}, env)

	credentials := volume(t, pod, inject.CredentialsVolume)
	require.NotNil(t, credentials.Projected)
	got := map[string]string{} // provider file → secret/key
	for _, src := range credentials.Projected.Sources {
		require.NotNil(t, src.Secret)
		assert.False(t, *src.Secret.Optional, "a missing Secret must show up as a pod event")
		for _, item := range src.Secret.Items {
			got[item.Path] = src.Secret.Name + "/" + item.Key
		}
	}
	assert.Equal(t, map[string]string{
		"gpt":        "openai-credentials/api-key",
		"claude":     "llm-keys/anthropic",
		"azure-east": "llm-keys/azure",
	}, got)
	mounts := map[string]string{}
	for _, m := range sidecarOf(t, pod).VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	assert.Equal(t, inject.CredentialsDir, mounts[inject.CredentialsVolume])
	assert.Empty(t, pod.Spec.Containers[0].VolumeMounts, "the app never sees the keys")
}

func TestInjector_AdmitsThePodUnchangedWhenItCannotInject(t *testing.T) {
	ns := namespace(t, enabled)
	before := admissionCounts()
	pod := createPod(t, ns, func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: inject.ConfigVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	})

	assert.Equal(t, map[Result]float64{ResultError: 1}, admissionCounts().since(before))
	assert.False(t, inject.Injected(pod))
	assert.Equal(t, []string{inject.ConfigVolume}, volumeNames(pod))
}

// TestInjector_TakesTheNamespaceFromTheRequest calls the handler directly
// (reading from the real API server) with a pod whose namespace is not set
// yet, as when it is created through a namespaced URL.
func TestInjector_TakesTheNamespaceFromTheRequest(t *testing.T) {
	ns := namespace(t, enabled)
	createPolicy(t, ns, "chat", nil, []v1alpha1.Provider{{Name: "gpt", Type: v1alpha1.ProviderOpenAI}})
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "chat-"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1.0"}}},
	}
	raw, err := json.Marshal(pod)
	require.NoError(t, err)

	resp := NewInjector(env.Client, testConfig(), testLog).Handle(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:       "1",
		Operation: admissionv1.Create,
		Namespace: ns,
		Object:    runtime.RawExtension{Raw: raw},
	}})

	require.True(t, resp.Allowed)
	var ops []string
	for _, p := range resp.Patches {
		ops = append(ops, p.Operation+" "+p.Path)
		if p.Path == "/spec/containers/0/env" {
			assert.Contains(t, p.Value, map[string]any{"name": "OPENAI_BASE_URL", "value": "http://127.0.0.1:15000/gpt/v1"},
				"the policy of the request's namespace applies")
		}
	}
	assert.Contains(t, ops, "add /spec/initContainers")
	assert.Contains(t, ops, "add /spec/containers/0/env")
}

// namespace creates a namespace with labels, named after the test.
func namespace(t *testing.T, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "webhook-", Labels: labels}}
	require.NoError(t, env.Client.Create(context.Background(), ns))
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), ns) })
	return ns.Name
}

// createPod creates a pod with one app container, changed by mutate, and
// returns it as admitted.
func createPod(t *testing.T, namespace string, mutate func(*corev1.Pod)) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "pod-", Namespace: namespace},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1.0"}}},
	}
	if mutate != nil {
		mutate(pod)
	}
	require.NoError(t, env.Client.Create(context.Background(), pod))
	return pod
}

func createPolicy(t *testing.T, namespace, name string, selector map[string]string, providers []v1alpha1.Provider) {
	t.Helper()
	p := &v1alpha1.LLMPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       v1alpha1.LLMPolicySpec{Providers: providers},
	}
	if selector != nil {
		p.Spec.PodSelector = v1alpha1.MatchLabels(selector)
	}
	require.NoError(t, env.Client.Create(context.Background(), p))
}

func sidecarOf(t *testing.T, pod *corev1.Pod) corev1.Container {
	t.Helper()
	for _, c := range pod.Spec.InitContainers {
		if c.Name == inject.ContainerName {
			return c
		}
	}
	require.FailNow(t, "the pod has no sidecar", "init containers: %v", containerNames(pod.Spec.InitContainers))
	return corev1.Container{}
}

func volume(t *testing.T, pod *corev1.Pod, name string) corev1.Volume {
	t.Helper()
	for _, v := range pod.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	require.FailNow(t, "the pod has no volume "+name, "volumes: %v", volumeNames(pod))
	return corev1.Volume{}
}

// envOf returns a container's literal variables.
func envOf(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		out[e.Name] = e.Value
	}
	return out
}

func containerNames(cs []corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func volumeNames(pod *corev1.Pod) []string {
	var out []string
	for _, v := range pod.Spec.Volumes {
		out = append(out, v.Name)
	}
	return out
}

// counts are the values of tollgate_webhook_admissions_total by result.
type counts map[Result]float64

func admissionCounts() counts {
	c := counts{}
	for _, r := range []Result{ResultInjected, ResultSkippedNotWanted, ResultSkippedAlreadyInjected, ResultError} {
		c[r] = testutil.ToFloat64(admissions.WithLabelValues(string(r)))
	}
	return c
}

// since returns the results that grew since before, and by how much.
func (c counts) since(before counts) map[Result]float64 {
	out := map[Result]float64{}
	for r, v := range c {
		if d := v - before[r]; d != 0 {
			out[r] = d
		}
	}
	return out
}

// One policy of the namespace that the API server accepted under an older
// schema but that cannot be translated now does not stop injection: the
// pod gets the sidecar for the good policy that selects it, chosen from the
// same bundle the reconciler renders.
func TestInjector_InjectsTheGoodPolicyDespiteABadOne(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, enabled)
	bad := &v1alpha1.LLMPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns},
		Spec: v1alpha1.LLMPolicySpec{
			Providers: []v1alpha1.Provider{{Name: "stale", Type: v1alpha1.ProviderOpenAI}},
			Timeouts:  &v1alpha1.Timeouts{Total: "forever"},
		},
	}
	require.NoError(t, env.CreateUnderOlderSchema(ctx, bad, testenv.RelaxTotalTimeout))
	time.Sleep(1100 * time.Millisecond) // the bad policy is the older one
	createPolicy(t, ns, "good", map[string]string{"app": "chat"}, []v1alpha1.Provider{{Name: "gpt", Type: v1alpha1.ProviderOpenAI}})

	before := admissionCounts()
	pod := createPod(t, ns, func(p *corev1.Pod) { p.Labels = map[string]string{"app": "chat"} })
	assert.Equal(t, map[Result]float64{ResultInjected: 1}, admissionCounts().since(before))
	env := envOf(pod.Spec.Containers[0])
	assert.Equal(t, "http://127.0.0.1:15000/gpt/v1", env["OPENAI_BASE_URL"], "the good policy's providers")
	assert.NotContains(t, env, "TOLLGATE_STALE_BASE_URL", "nothing of the bad policy")
}
