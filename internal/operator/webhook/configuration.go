package webhook

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"tollgate.dev/tollgate/internal/operator/inject"
)

// Names of the MutatingWebhookConfiguration and its webhooks, as the Helm
// chart installs them.
const (
	// ConfigurationName is the MutatingWebhookConfiguration's name.
	ConfigurationName = "tollgate-sidecar-injector"
	// NamespaceWebhookName admits the pods of opted-in namespaces.
	NamespaceWebhookName = "namespace.inject.tollgate.dev"
	// PodWebhookName admits opted-in pods of the other namespaces.
	PodWebhookName = "pod.inject.tollgate.dev"
)

// ConfigurationOptions are the settings of Configuration.
type ConfigurationOptions struct {
	// OperatorNamespace is the operator's namespace, whose pods are never
	// sent to the webhook (nor those of kube-system).
	OperatorNamespace string
	// ClientConfig is how the API server reaches the webhook: the
	// operator's Service (its path is set to Path) or a URL, and the
	// caBundle.
	ClientConfig admissionregistrationv1.WebhookClientConfig
	// FailurePolicy is what the API server does when the webhook cannot be
	// reached. Default Ignore: the pod is created without the sidecar
	// rather than not at all.
	FailurePolicy admissionregistrationv1.FailurePolicyType
}

// Configuration is the MutatingWebhookConfiguration the Helm chart
// installs, for tests and for anyone installing without the chart.
//
// It has two webhooks with the same client config, so that opting in can be
// per namespace or per pod without the API server calling the webhook for
// every pod of the cluster, and so that each pod is sent exactly once:
//
//   - namespace.inject.tollgate.dev: pods of namespaces labelled
//     tollgate.dev/injection=enabled, except pods labelled
//     tollgate.dev/inject=true (those are the other webhook's);
//   - pod.inject.tollgate.dev: pods labelled tollgate.dev/inject=true, in
//     any namespace.
//
// Both leave out kube-system and the operator's namespace. The opt-out
// annotation cannot be selected on (annotations are not selectable); the
// handler checks it.
func Configuration(o ConfigurationOptions) *admissionregistrationv1.MutatingWebhookConfiguration {
	if o.FailurePolicy == "" {
		o.FailurePolicy = admissionregistrationv1.Ignore
	}
	cc := *o.ClientConfig.DeepCopy()
	if cc.Service != nil {
		cc.Service.Path = ptr.To(Path)
	}
	excluded := metav1.LabelSelectorRequirement{
		Key:      corev1.LabelMetadataName,
		Operator: metav1.LabelSelectorOpNotIn,
		Values:   []string{metav1.NamespaceSystem, o.OperatorNamespace},
	}
	hook := func(name string, namespaces, objects *metav1.LabelSelector) admissionregistrationv1.MutatingWebhook {
		return admissionregistrationv1.MutatingWebhook{
			Name:         name,
			ClientConfig: *cc.DeepCopy(),
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{
					APIGroups:   []string{""},
					APIVersions: []string{"v1"},
					Resources:   []string{"pods"},
					Scope:       ptr.To(admissionregistrationv1.NamespacedScope),
				},
			}},
			FailurePolicy:           ptr.To(o.FailurePolicy),
			MatchPolicy:             ptr.To(admissionregistrationv1.Equivalent),
			NamespaceSelector:       namespaces,
			ObjectSelector:          objects,
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:          ptr.To[int32](5),
			AdmissionReviewVersions: []string{"v1"},
			// When a later webhook changes the pod, the API server may call
			// this one again: safe, since Inject leaves a pod that has the
			// sidecar alone.
			ReinvocationPolicy: ptr.To(admissionregistrationv1.IfNeededReinvocationPolicy),
		}
	}
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: ConfigurationName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{
			hook(NamespaceWebhookName,
				&metav1.LabelSelector{
					MatchLabels:      map[string]string{inject.NamespaceLabel: inject.NamespaceEnabled},
					MatchExpressions: []metav1.LabelSelectorRequirement{excluded},
				},
				&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: inject.InjectLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"true"}},
				}},
			),
			hook(PodWebhookName,
				&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{excluded}},
				&metav1.LabelSelector{MatchLabels: map[string]string{inject.InjectLabel: "true"}},
			),
		},
	}
}
