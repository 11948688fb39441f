package demo

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

func TestReadInjected(t *testing.T) {
	injected := func() *corev1.Pod {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: demoPods[0].name, Namespace: demoNamespace, Labels: map[string]string{"app": "chat"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: appContainer, Image: "registry.example/chat-app:1.0"}}},
		}
		policy := &proxyconfig.Policy{Name: policyName, Providers: []proxyconfig.Provider{{Name: "openai", Type: proxyconfig.OpenAI}}}
		out, err := inject.Inject(pod, policy, inject.DefaultConfig())
		require.NoError(t, err)
		return out
	}
	tests := map[string]struct {
		mutate      func(*corev1.Pod)
		wantBaseURL string
		wantErr     string
	}{
		"a pod the webhook injected": {
			mutate: func(*corev1.Pod) {}, wantBaseURL: "http://127.0.0.1:15000/openai/v1",
		},
		"without the injected annotation": {
			mutate:  func(p *corev1.Pod) { delete(p.Annotations, inject.InjectedAnnotation) },
			wantErr: "the webhook did not inject it",
		},
		"without the sidecar": {
			mutate:  func(p *corev1.Pod) { p.Spec.InitContainers = nil },
			wantErr: "no init container tollgate-sidecar",
		},
		"with a sidecar that is a plain init container": {
			mutate:  func(p *corev1.Pod) { p.Spec.InitContainers[0].RestartPolicy = nil },
			wantErr: "not a native sidecar",
		},
		"with a sidecar that restarts on failure only": {
			mutate: func(p *corev1.Pod) {
				p.Spec.InitContainers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicy("OnFailure"))
			},
			wantErr: "not a native sidecar",
		},
		"without OPENAI_BASE_URL on the app": {
			mutate:  func(p *corev1.Pod) { p.Spec.Containers[0].Env = nil },
			wantErr: "has no OPENAI_BASE_URL",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			pod := injected()
			tc.mutate(pod)
			v, err := readInjected(pod)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantBaseURL, v.baseURL)
			assert.Equal(t, inject.ContainerName, v.sidecar.Name)
			assert.Equal(t, "127.0.0.1:15000", v.arg("--listen"))
			assert.Empty(t, v.arg("--ledger-url"), "injected without a ledger")
		})
	}
}

func TestAppBaseURL_KeepsTheInjectedPathOnTheSidecarsAddress(t *testing.T) {
	got, err := appBaseURL("http://127.0.0.1:15000/openai/v1", "127.0.0.1:41234")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:41234/openai/v1", got)

	_, err = appBaseURL("not a url", "127.0.0.1:41234")
	require.ErrorContains(t, err, "is not a URL")
}
