package install

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// TestKustomize_DefaultIsAcceptedByTheAPIServer applies `kubectl kustomize
// config/default` as `kubectl apply -k` users would, server-side, to a real
// kube-apiserver, then checks what the operator's ServiceAccount may do.
func TestKustomize_DefaultIsAcceptedByTheAPIServer(t *testing.T) {
	objects := kustomize(t, "config/default")
	apply(t, objects)
	checkOperatorAccess(t, operatorNamespace, installed{selfManagedCerts: true, ledger: true})
}

// TestChart_RendersAreAcceptedByTheAPIServer applies `helm template` renders
// server-side, then checks what the operator's ServiceAccount may do.
func TestChart_RendersAreAcceptedByTheAPIServer(t *testing.T) {
	tests := map[string]struct {
		namespace string
		set       []string
	}{
		"defaults": {namespace: "tollgate-template"},
		// envtest has no cert-manager CRDs: the Issuer and Certificate are
		// left out, and checked by TestCertificates_*.
		"cert-manager mode":         {namespace: "tollgate-template-cm", set: []string{"webhook.certManager.enabled=true"}},
		"without the budget ledger": {namespace: "tollgate-template-noledger", set: []string{"ledger.enabled=false"}},
		// Nor the Prometheus operator's: the PrometheusRule, ServiceMonitor
		// and PodMonitor are checked by TestPrometheusRule_*,
		// TestServiceMonitor_* and TestPodMonitor_*. The dashboard's
		// ConfigMap is applied.
		"every optional object and scheduling value": {
			namespace: "tollgate-template-full",
			set: []string{
				"podDisruptionBudget.enabled=true", "imagePullSecrets[0].name=regcred",
				"serviceAccount.annotations.team=platform", "nodeSelector.pool=system",
				"tolerations[0].key=dedicated", "tolerations[0].operator=Exists",
				"webhook.failurePolicy=Fail", "webhook.port=10250", "replicaCount=3",
				"ledger.port=9000", "budget.whenLedgerUnreachable=Allow", "prometheusRule.enabled=true",
				"serviceMonitor.enabled=true", "podMonitor.enabled=true", "grafanaDashboard.enabled=true",
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			createNamespace(t, tc.namespace)
			var args []string
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			var objects []*unstructured.Unstructured
			want := installed{selfManagedCerts: true}
			for _, o := range helmTemplate(t, tc.namespace, args...) {
				switch o.GroupVersionKind().Group {
				case "cert-manager.io":
					want.selfManagedCerts = false
					continue
				case "monitoring.coreos.com":
					continue
				}
				if o.GetKind() == "Service" && o.GetName() == "tollgate-ledger" {
					want.ledger = true
				}
				objects = append(objects, o)
			}
			apply(t, objects)
			checkOperatorAccess(t, tc.namespace, want)
		})
	}
}

// apply applies objects with `kubectl apply --server-side`, checks that the
// API server stored each one without a warning (such as a Pod Security
// violation), and deletes them again when the test ends so that the next
// install path can create its cluster-wide objects under the same names.
func apply(t *testing.T, objects []*unstructured.Unstructured) {
	t.Helper()
	var manifest strings.Builder
	for _, o := range objects {
		doc, err := yaml.Marshal(o.Object)
		require.NoError(t, err)
		manifest.WriteString("---\n")
		manifest.Write(doc)
	}
	t.Cleanup(func() { deleteAll(t, objects) })
	_, stderr := kubectl(t, manifest.String(), "apply", "--server-side", "--field-manager=tollgate-install-test", "-f", "-")
	assert.NotContains(t, stderr, "Warning", "the API server warned about an object")

	ctx := context.Background()
	for _, o := range objects {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		assert.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(o), got), "%s was not stored", id(o))
	}
}

// deleteAll deletes objects, leaving the CRD (installed by testenv, used by
// every test) and Namespaces (envtest has no namespace controller to finish
// deleting one).
func deleteAll(t *testing.T, objects []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objects {
		if o.GetKind() == "CustomResourceDefinition" || o.GetKind() == "Namespace" {
			continue
		}
		if err := env.Client.Delete(context.Background(), o); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("clean up %s: %v", id(o), err)
		}
	}
}

// createNamespace creates a namespace that enforces the restricted Pod
// Security Standard, as config/default's does: the API server then warns
// about any operator pod template that would break it.
func createNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   name,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
	}}
	if err := env.Client.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
}

// installed is what an install path set up, which decides what the operator
// may do.
type installed struct {
	// selfManagedCerts: the operator writes its certificate Secret and the
	// webhook's caBundle (no cert-manager).
	selfManagedCerts bool
	// ledger: the operator serves the budget ledger.
	ledger bool
	// secretNamespaces: the only namespaces where the operator may list and
	// watch Secrets (chart value credentialsSecrets.namespaces); empty:
	// every namespace.
	secretNamespaces []string
}

// checkOperatorAccess asks the API server's RBAC authorizer what the
// operator's ServiceAccount (in namespace) may do: everything the operator
// needs, and not more than least privilege allows.
func checkOperatorAccess(t *testing.T, namespace string, install installed) {
	t.Helper()
	type access struct {
		verb, group, resource, subresource, name, namespace string
	}
	own := namespace
	allowed := []access{
		{verb: "watch", group: "tollgate.dev", resource: "llmpolicies"},
		{verb: "patch", group: "tollgate.dev", resource: "llmpolicies", subresource: "status", namespace: "shop"},
		{verb: "create", resource: "configmaps", namespace: "shop"},
		{verb: "delete", resource: "configmaps", namespace: "shop"},
		{verb: "list", resource: "pods"},
		{verb: "watch", resource: "namespaces"},
		{verb: "create", resource: "events", namespace: "shop"},
		{verb: "patch", group: "events.k8s.io", resource: "events", namespace: "shop"},
		{verb: "watch", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations"},
		{verb: "list", resource: "secrets", namespace: own},
		{verb: "watch", resource: "secrets", namespace: own},
		{verb: "get", group: "coordination.k8s.io", resource: "leases", namespace: own},
		{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: own},
		{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: own},
	}
	denied := []access{
		{verb: "update", group: "tollgate.dev", resource: "llmpolicies", namespace: "shop"},
		{verb: "delete", group: "tollgate.dev", resource: "llmpolicies", namespace: "shop"},
		// Secrets are listed and watched (metadata only), never fetched one
		// by one, nor written outside the operator's namespace.
		{verb: "get", resource: "secrets", name: "openai-credentials", namespace: "shop"},
		{verb: "create", resource: "secrets", namespace: "shop"},
		{verb: "update", resource: "secrets", namespace: "shop"},
		{verb: "delete", resource: "secrets", namespace: own},
		{verb: "create", resource: "pods", namespace: "shop"},
		{verb: "patch", resource: "pods", namespace: "shop"},
		{verb: "update", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: "someone-elses-webhook"},
		{verb: "delete", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: "tollgate-sidecar-injector"},
		{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: "shop"},
		{verb: "delete", group: "coordination.k8s.io", resource: "leases", namespace: own},
		{verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterroles"},
		{verb: "update", resource: "pods", namespace: own},
		{verb: "delete", resource: "pods", namespace: own},
		{verb: "create", resource: "pods", namespace: own},
		{verb: "patch", resource: "pods", subresource: "status", namespace: own},
		{verb: "create", group: "authorization.k8s.io", resource: "subjectaccessreviews"},
	}
	certWrites := []access{
		{verb: "create", resource: "secrets", namespace: own},
		{verb: "update", resource: "secrets", namespace: own},
		{verb: "patch", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: "tollgate-sidecar-injector"},
	}
	// The ledger reviews sidecar tokens, and its leader labels its own pod.
	ledgerWrites := []access{
		{verb: "create", group: "authentication.k8s.io", resource: "tokenreviews"},
		{verb: "patch", resource: "pods", namespace: own},
	}
	if len(install.secretNamespaces) == 0 {
		allowed = append(allowed,
			access{verb: "list", resource: "secrets"}, access{verb: "watch", resource: "secrets"},
			access{verb: "list", resource: "secrets", namespace: "shop"}, access{verb: "watch", resource: "secrets", namespace: "shop"})
	} else {
		for _, ns := range install.secretNamespaces {
			allowed = append(allowed, access{verb: "list", resource: "secrets", namespace: ns}, access{verb: "watch", resource: "secrets", namespace: ns})
		}
		denied = append(denied,
			access{verb: "list", resource: "secrets"}, access{verb: "watch", resource: "secrets"},
			access{verb: "list", resource: "secrets", namespace: "not-listed"}, access{verb: "watch", resource: "secrets", namespace: "not-listed"})
	}
	if install.selfManagedCerts {
		allowed = append(allowed, certWrites...)
	} else {
		denied = append(denied, certWrites...)
	}
	if install.ledger {
		allowed = append(allowed, ledgerWrites...)
		allowed = append(allowed, access{verb: "get", resource: "pods", namespace: own})
	} else {
		denied = append(denied, ledgerWrites...)
	}

	user := "system:serviceaccount:" + namespace + ":tollgate-operator"
	can := func(a access) bool {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   user,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource, Name: a.name, Namespace: a.namespace,
			},
		}}
		require.NoError(t, env.Client.Create(context.Background(), review))
		return review.Status.Allowed
	}
	for _, a := range allowed {
		assert.True(t, can(a), "%s may not %+v", user, a)
	}
	for _, a := range denied {
		assert.False(t, can(a), "%s may %+v", user, a)
	}
}
