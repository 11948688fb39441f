package webhook

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

// TestConfiguration_SendsEachOptedInPodToExactlyOneWebhook evaluates the
// webhooks' selectors as the API server does, for every combination of
// namespace and pod opt-in.
func TestConfiguration_SendsEachOptedInPodToExactlyOneWebhook(t *testing.T) {
	cfg := Configuration(ConfigurationOptions{
		OperatorNamespace: "tollgate-system",
		ClientConfig:      admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://127.0.0.1:9443" + Path)},
	})
	tests := map[string]struct {
		namespace    string
		namespaceOn  bool
		podLabel     string
		wantWebhooks []string
	}{
		"an opted-in namespace":                    {namespace: "team-a", namespaceOn: true, wantWebhooks: []string{NamespaceWebhookName}},
		"an opted-in pod":                          {namespace: "team-a", podLabel: "true", wantWebhooks: []string{PodWebhookName}},
		"an opted-in pod in an opted-in namespace": {namespace: "team-a", namespaceOn: true, podLabel: "true", wantWebhooks: []string{PodWebhookName}},
		"a pod label other than true":              {namespace: "team-a", namespaceOn: true, podLabel: "false", wantWebhooks: []string{NamespaceWebhookName}},
		"neither":                                  {namespace: "team-a"},
		"kube-system, even opted in":               {namespace: "kube-system", namespaceOn: true, podLabel: "true"},
		"the operator's namespace, even opted in":  {namespace: "tollgate-system", namespaceOn: true, podLabel: "true"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			nsLabels := labels.Set{"kubernetes.io/metadata.name": tc.namespace}
			if tc.namespaceOn {
				nsLabels["tollgate.dev/injection"] = "enabled"
			}
			podLabels := labels.Set{"app": "chat"}
			if tc.podLabel != "" {
				podLabels["tollgate.dev/inject"] = tc.podLabel
			}
			var called []string
			for _, h := range cfg.Webhooks {
				if matches(t, h.NamespaceSelector, nsLabels) && matches(t, h.ObjectSelector, podLabels) {
					called = append(called, h.Name)
				}
			}
			assert.Equal(t, tc.wantWebhooks, called)
		})
	}
}

func TestConfiguration_FollowsTheChartsSettings(t *testing.T) {
	cfg := Configuration(ConfigurationOptions{
		OperatorNamespace: "tollgate-system",
		ClientConfig: admissionregistrationv1.WebhookClientConfig{
			Service: &admissionregistrationv1.ServiceReference{Namespace: "tollgate-system", Name: "tollgate-webhook"},
		},
	})
	assert.Equal(t, "tollgate-sidecar-injector", cfg.Name)
	require.Len(t, cfg.Webhooks, 2)
	for _, h := range cfg.Webhooks {
		assert.Equal(t, Path, *h.ClientConfig.Service.Path, h.Name)
		assert.Equal(t, admissionregistrationv1.Ignore, *h.FailurePolicy, h.Name)
		assert.Equal(t, admissionregistrationv1.SideEffectClassNone, *h.SideEffects, h.Name)
		assert.Equal(t, int32(5), *h.TimeoutSeconds, h.Name)
		assert.Equal(t, admissionregistrationv1.IfNeededReinvocationPolicy, *h.ReinvocationPolicy, h.Name)
		assert.Equal(t, []string{"v1"}, h.AdmissionReviewVersions, h.Name)
		require.Len(t, h.Rules, 1)
		assert.Equal(t, []admissionregistrationv1.OperationType{admissionregistrationv1.Create}, h.Rules[0].Operations)
		assert.Equal(t, []string{"pods"}, h.Rules[0].Resources)
		assert.Equal(t, []string{""}, h.Rules[0].APIGroups)
	}
}

func matches(t *testing.T, s *metav1.LabelSelector, set labels.Set) bool {
	t.Helper()
	if s == nil {
		return true
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	require.NoError(t, err)
	return sel.Matches(set)
}
