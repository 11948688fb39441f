package install

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// secretRules are the rules of rules about Secrets.
func secretRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range rules {
		for _, res := range r.Resources {
			if res == "secrets" {
				out = append(out, r)
			}
		}
	}
	return out
}

// TestRBAC_SecretsAreListedAndWatchedNeverGot: the operator asks for
// Secrets' metadata through list and watch; both install paths grant those
// two verbs and nothing else on Secrets cluster-wide (no get: it never
// fetches one).
func TestRBAC_SecretsAreListedAndWatchedNeverGot(t *testing.T) {
	for name, objects := range map[string][]*unstructured.Unstructured{
		"chart":     helmTemplate(t, operatorNamespace),
		"kustomize": kustomize(t, "config/default"),
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list", "watch"}}},
				secretRules(rules(t, find(t, objects, "ClusterRole", "tollgate-operator"))))
			assert.NotContains(t, deployment(t, objects).Spec.Template.Spec.Containers[0].Args, "--secret-namespaces", "every namespace by default")
		})
	}
}

// TestChart_CredentialsSecretsNamespacesGrantSecretsThereOnly renders the
// narrow option: a Role per listed namespace instead of the ClusterRole's
// rule, the operator told the same namespaces (so its cache asks for
// nothing else), and applies it to check what the ServiceAccount may do.
// The render has cluster-wide names of its own (fullnameOverride) and is
// applied without the webhook configuration, whose name is fixed: it must
// not meet another install's cluster-scoped objects.
func TestChart_CredentialsSecretsNamespacesGrantSecretsThereOnly(t *testing.T) {
	const namespace, fullname = "tollgate-scoped", "tollgate-scoped"
	listed := []string{"shop", "team-a"}
	set := []string{
		"--set", "credentialsSecrets.namespaces={shop,team-a}",
		"--set", "fullnameOverride=" + fullname, "--set", "serviceAccount.name=tollgate-operator",
	}
	helm(t, append([]string{"lint", "--strict", chartDir}, set...)...)
	objects := helmTemplate(t, namespace, set...)
	const operatorName, secretsRole = fullname + "-operator", fullname + "-operator-secrets"

	assert.Empty(t, secretRules(rules(t, find(t, objects, "ClusterRole", operatorName))), "no Secret in any other namespace")
	for _, ns := range listed {
		var role, binding *unstructured.Unstructured
		for _, o := range objects {
			if o.GetName() == secretsRole && o.GetNamespace() == ns {
				switch o.GetKind() {
				case "Role":
					role = o
				case "RoleBinding":
					binding = o
				}
			}
		}
		require.NotNil(t, role, "a Role in %s", ns)
		require.NotNil(t, binding, "a RoleBinding in %s", ns)
		assert.Equal(t, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list", "watch"}}}, typed[rbacv1.Role](t, role).Rules)
		rb := typed[rbacv1.RoleBinding](t, binding)
		assert.Equal(t, rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: secretsRole}, rb.RoleRef)
		assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "tollgate-operator", Namespace: namespace}}, rb.Subjects)
	}
	// The operator's own Role (its certificate Secret) is unchanged.
	assert.NotEmpty(t, secretRules(rules(t, find(t, objects, "Role", operatorName))))
	assert.Equal(t, listed, operatorOptions(t, objects, namespace).SecretNamespaces, "the operator watches the namespaces it may")

	createNamespace(t, namespace)
	for _, ns := range listed {
		createNamespace(t, ns)
	}
	var applied []*unstructured.Unstructured
	for _, o := range objects {
		switch {
		case o.GroupVersionKind().Group == "cert-manager.io", o.GroupVersionKind().Group == "monitoring.coreos.com":
		case o.GetKind() == "MutatingWebhookConfiguration", o.GetKind() == "CustomResourceDefinition":
		default:
			applied = append(applied, o)
		}
	}
	apply(t, applied)
	checkOperatorAccess(t, namespace, installed{selfManagedCerts: true, ledger: true, secretNamespaces: listed})
}

func TestValuesSchema_CredentialsSecretsNamespacesAreNamespaceNames(t *testing.T) {
	for name, tc := range map[string]struct {
		set, wantErrors []string
	}{
		"an upper-case name": {[]string{"credentialsSecrets.namespaces={Shop}"}, []string{"/credentialsSecrets/namespaces/0", "does not match pattern"}},
		"a name twice":       {[]string{"credentialsSecrets.namespaces={shop,shop}"}, []string{"/credentialsSecrets/namespaces", "items at 0 and 1 are equal"}},
		"a single string":    {[]string{"credentialsSecrets.namespaces=shop"}, []string{"/credentialsSecrets/namespaces", "got string, want array"}},
	} {
		t.Run(name, func(t *testing.T) {
			args := []string{"template", "tollgate", chartDir}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			_, stderr, err := run(t, "", helmPath(t), args...)
			require.Error(t, err, "helm accepted %v", tc.set)
			for _, want := range tc.wantErrors {
				assert.Contains(t, stderr, want)
			}
		})
	}
}
