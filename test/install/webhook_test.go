package install

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"tollgate.dev/tollgate/internal/operator/webhook"
)

// renders are the install paths every webhook test checks: the chart in two
// namespaces and config/default.
func renders(t *testing.T) map[string]struct {
	namespace string
	objects   []*unstructured.Unstructured
} {
	t.Helper()
	return map[string]struct {
		namespace string
		objects   []*unstructured.Unstructured
	}{
		"chart":                      {operatorNamespace, helmTemplate(t, operatorNamespace)},
		"chart in another namespace": {"platform", helmTemplate(t, "platform")},
		"config/default":             {operatorNamespace, kustomize(t, "config/default")},
	}
}

func webhookConfig(t *testing.T, objects []*unstructured.Unstructured) *admissionregistrationv1.MutatingWebhookConfiguration {
	t.Helper()
	return typed[admissionregistrationv1.MutatingWebhookConfiguration](t, find(t, objects, "MutatingWebhookConfiguration", "tollgate-sidecar-injector"))
}

// TestWebhooks_CallTheInjectorExactlyOncePerOptedInPod evaluates both
// webhooks' selectors the way the API server does, for pods in namespaces
// with and without the opt-in labels: an opted-in pod reaches exactly one
// webhook (so it is never injected twice), any other pod reaches none (so the
// API server does not call the operator for every pod in the cluster).
func TestWebhooks_CallTheInjectorExactlyOncePerOptedInPod(t *testing.T) {
	enabled := map[string]string{"tollgate.dev/injection": "enabled"}
	tests := map[string]struct {
		namespace       string // "" means the operator's namespace
		namespaceLabels map[string]string
		podLabels       map[string]string
		want            []string
	}{
		"a pod in an enabled namespace": {
			namespace: "shop", namespaceLabels: enabled,
			want: []string{"namespace.inject.tollgate.dev"},
		},
		"a labelled pod in an enabled namespace": {
			namespace: "shop", namespaceLabels: enabled, podLabels: map[string]string{"tollgate.dev/inject": "true"},
			want: []string{"pod.inject.tollgate.dev"},
		},
		"a labelled pod in a namespace without the label": {
			namespace: "shop", podLabels: map[string]string{"tollgate.dev/inject": "true"},
			want: []string{"pod.inject.tollgate.dev"},
		},
		"a pod labelled false in an enabled namespace (the handler reads the opt-out annotation)": {
			namespace: "shop", namespaceLabels: enabled, podLabels: map[string]string{"tollgate.dev/inject": "false"},
			want: []string{"namespace.inject.tollgate.dev"},
		},
		"an unlabelled pod in a namespace without the label": {
			namespace: "shop",
		},
		"a pod in a namespace labelled disabled": {
			namespace: "shop", namespaceLabels: map[string]string{"tollgate.dev/injection": "disabled"},
		},
		"a labelled pod in kube-system, even if enabled": {
			namespace: "kube-system", namespaceLabels: enabled, podLabels: map[string]string{"tollgate.dev/inject": "true"},
		},
		"a pod in the operator's namespace, even if enabled": {
			namespace: "", namespaceLabels: enabled,
		},
		"a labelled pod in the operator's namespace": {
			namespace: "", podLabels: map[string]string{"tollgate.dev/inject": "true"},
		},
	}
	for renderName, r := range renders(t) {
		mwc := webhookConfig(t, r.objects)
		for name, tc := range tests {
			t.Run(renderName+"/"+name, func(t *testing.T) {
				ns := tc.namespace
				if ns == "" {
					ns = r.namespace
				}
				// The API server labels every namespace with its name.
				nsLabels := labels.Set{"kubernetes.io/metadata.name": ns}
				for k, v := range tc.namespaceLabels {
					nsLabels[k] = v
				}
				var called []string
				for _, w := range mwc.Webhooks {
					if matches(t, w.NamespaceSelector, nsLabels) && matches(t, w.ObjectSelector, labels.Set(tc.podLabels)) {
						called = append(called, w.Name)
					}
				}
				assert.Equal(t, tc.want, called)
			})
		}
	}
}

func matches(t *testing.T, selector *metav1.LabelSelector, set labels.Set) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(selector)
	require.NoError(t, err)
	return s.Matches(set)
}

func TestWebhooks_CallTheHandlerOnPodCreationOnly(t *testing.T) {
	for renderName, r := range renders(t) {
		t.Run(renderName, func(t *testing.T) {
			mwc := webhookConfig(t, r.objects)
			var names []string
			for _, w := range mwc.Webhooks {
				names = append(names, w.Name)
				require.NotNil(t, w.ClientConfig.Service, w.Name)
				assert.Equal(t, admissionregistrationv1.ServiceReference{
					Namespace: r.namespace, Name: "tollgate-webhook", Path: new("/mutate-v1-pod"), Port: new(int32(443)),
				}, *w.ClientConfig.Service, w.Name)
				assert.Empty(t, w.ClientConfig.CABundle, "the operator or cert-manager fills in the CA")
				assert.Equal(t, []admissionregistrationv1.RuleWithOperations{{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule: admissionregistrationv1.Rule{
						APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"},
						Scope: new(admissionregistrationv1.NamespacedScope),
					},
				}}, w.Rules, w.Name)
				assert.Equal(t, new(admissionregistrationv1.SideEffectClassNone), w.SideEffects, w.Name)
				assert.Equal(t, []string{"v1"}, w.AdmissionReviewVersions, w.Name)
				assert.Equal(t, new(int32(5)), w.TimeoutSeconds, w.Name)
				assert.Equal(t, new(admissionregistrationv1.IfNeededReinvocationPolicy), w.ReinvocationPolicy, w.Name)
				assert.Equal(t, new(admissionregistrationv1.Ignore), w.FailurePolicy, w.Name)
			}
			assert.Equal(t, []string{"namespace.inject.tollgate.dev", "pod.inject.tollgate.dev"}, names)
		})
	}
}

// TestCertificates_ComeFromTheOperatorOrFromCertManager checks the two
// certificate modes end to end in the render: who writes the Secret the
// operator mounts, who fills in the CA, and the RBAC each needs.
func TestCertificates_ComeFromTheOperatorOrFromCertManager(t *testing.T) {
	t.Run("self-managed by default", func(t *testing.T) {
		objects := helmTemplate(t, operatorNamespace)
		assert.False(t, has(objects, "Issuer"))
		assert.False(t, has(objects, "Certificate"))
		assert.NotContains(t, webhookConfig(t, objects).Annotations, "cert-manager.io/inject-ca-from")
		assert.Contains(t, operatorArgs(t, objects), "--cert-management=self")
	})

	t.Run("cert-manager when enabled", func(t *testing.T) {
		objects := helmTemplate(t, operatorNamespace, "--set", "webhook.certManager.enabled=true")
		assert.Contains(t, operatorArgs(t, objects), "--cert-management=cert-manager")

		cert := find(t, objects, "Certificate", "tollgate-webhook")
		assert.Equal(t, fmt.Sprintf("%s/%s", operatorNamespace, cert.GetName()),
			webhookConfig(t, objects).Annotations["cert-manager.io/inject-ca-from"])
		secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
		assert.Equal(t, "tollgate-webhook-cert", secretName, "the Secret the operator mounts")
		dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
		assert.Contains(t, dnsNames, "tollgate-webhook.tollgate-system.svc", "the name the API server dials")

		issuerName, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name")
		issuer := find(t, objects, "Issuer", issuerName)
		assert.Equal(t, operatorNamespace, issuer.GetNamespace())
		_, selfSigned, _ := unstructured.NestedMap(issuer.Object, "spec", "selfSigned")
		assert.True(t, selfSigned, "a self-signed Issuer")
	})
}

func operatorArgs(t *testing.T, objects []*unstructured.Unstructured) []string {
	t.Helper()
	d := typed[appsv1.Deployment](t, find(t, objects, "Deployment", "tollgate-operator"))
	require.Len(t, d.Spec.Template.Spec.Containers, 1)
	return d.Spec.Template.Spec.Containers[0].Args
}

// TestWebhooks_MatchTheOperatorsConfiguration keeps the installed
// MutatingWebhookConfiguration identical to the one internal/operator/webhook
// documents and tests its handler against.
func TestWebhooks_MatchTheOperatorsConfiguration(t *testing.T) {
	for renderName, r := range renders(t) {
		t.Run(renderName, func(t *testing.T) {
			want := webhook.Configuration(webhook.ConfigurationOptions{
				OperatorNamespace: r.namespace,
				ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
					Namespace: r.namespace, Name: "tollgate-webhook", Port: new(int32(443)),
				}},
			})
			got := webhookConfig(t, r.objects)
			assert.Equal(t, want.Name, got.Name)
			assert.Equal(t, want.Webhooks, got.Webhooks)
		})
	}
}
