package install

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"tollgate.dev/tollgate/internal/operator"
)

// operatorOptions parses the operator container's arguments as
// cmd/operator does, with the namespace and pod name its env gives it.
func operatorOptions(t *testing.T, objects []*unstructured.Unstructured, namespace string) operator.Options {
	t.Helper()
	args := append(deployment(t, objects).Spec.Template.Spec.Containers[0].Args, "--namespace="+namespace, "--pod-name=tollgate-operator-7d4b9-x2x5k")
	opts, err := operator.Parse(args, io.Discard)
	require.NoError(t, err, "the operator refuses the rendered arguments %q", args)
	return opts
}

// TestLedger_SidecarsAreToldTheServiceThatIsInstalled checks the contract
// between the install paths and the operator: the operator accepts every
// rendered flag, and the ledger URL it gives sidecars names the rendered
// Service, on a port that reaches the ledger's container port.
func TestLedger_SidecarsAreToldTheServiceThatIsInstalled(t *testing.T) {
	tests := map[string]struct {
		namespace string
		objects   func(t *testing.T) []*unstructured.Unstructured
		wantURL   string
	}{
		"chart defaults": {
			namespace: operatorNamespace,
			objects:   func(t *testing.T) []*unstructured.Unstructured { return helmTemplate(t, operatorNamespace) },
			wantURL:   "https://tollgate-ledger.tollgate-system.svc:8443",
		},
		"chart with cert-manager and another port": {
			namespace: operatorNamespace,
			objects: func(t *testing.T) []*unstructured.Unstructured {
				return helmTemplate(t, operatorNamespace, "--set", "webhook.certManager.enabled=true", "--set", "ledger.port=10443")
			},
			wantURL: "https://tollgate-ledger.tollgate-system.svc:10443",
		},
		"chart released under another name": {
			namespace: "platform",
			objects: func(t *testing.T) []*unstructured.Unstructured {
				return parseObjects(t, helm(t, "template", "prod", chartDir, "--namespace", "platform"))
			},
			wantURL: "https://prod-tollgate-ledger.platform.svc:8443",
		},
		"config/default": {
			namespace: operatorNamespace,
			objects:   func(t *testing.T) []*unstructured.Unstructured { return kustomize(t, "config/default") },
			wantURL:   "https://tollgate-ledger.tollgate-system.svc:8443",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			objects := tc.objects(t)
			opts := operatorOptions(t, objects, tc.namespace)
			require.Equal(t, []string{tc.wantURL}, opts.Ledger.URLs)

			u, err := url.Parse(opts.Ledger.URLs[0])
			require.NoError(t, err)
			svc := typed[corev1.Service](t, find(t, objects, "Service", opts.Ledger.Service))
			assert.Equal(t, fmt.Sprintf("%s.%s.svc", svc.Name, tc.namespace), u.Hostname())
			assert.Equal(t, tc.namespace, svc.Namespace)
			require.Len(t, svc.Spec.Ports, 1)
			assert.Equal(t, u.Port(), fmt.Sprint(svc.Spec.Ports[0].Port), "sidecars dial the Service on the ledger's own port")

			d := deployment(t, objects)
			c := d.Spec.Template.Spec.Containers[0]
			require.Equal(t, intstr.FromString("ledger"), svc.Spec.Ports[0].TargetPort)
			assert.Contains(t, c.Ports, corev1.ContainerPort{Name: "ledger", ContainerPort: svc.Spec.Ports[0].Port, Protocol: corev1.ProtocolTCP})
			assert.Equal(t, ":"+u.Port(), opts.Ledger.Addr)
		})
	}
}

// TestLedger_ChartDefaultsAreTheOperatorsDefaults keeps values.yaml from
// drifting from the operator's own defaults: the chart's default render
// configures the ledger exactly as the operator does without ledger flags.
func TestLedger_ChartDefaultsAreTheOperatorsDefaults(t *testing.T) {
	fromChart := operatorOptions(t, helmTemplate(t, operatorNamespace), operatorNamespace)
	fromDefaults, err := operator.Parse([]string{"--namespace=" + operatorNamespace, "--pod-name=tollgate-operator-7d4b9-x2x5k"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, fromDefaults.Ledger, fromChart.Ledger)
	assert.Equal(t, fromDefaults.Sidecar.LedgerUnreachable, fromChart.Sidecar.LedgerUnreachable)
}

func TestLedger_CanBeTurnedOff(t *testing.T) {
	objects := helmTemplate(t, operatorNamespace, "--set", "ledger.enabled=false", "--set", "webhook.certManager.enabled=true")
	opts := operatorOptions(t, objects, operatorNamespace)
	assert.Equal(t, "0", opts.Ledger.Addr)
	assert.Empty(t, opts.Sidecar.LedgerURLs, "sidecars keep their budgets local")

	args := operatorArgs(t, objects)
	assert.Contains(t, args, "--ledger-bind-address=0")
	for _, flag := range []string{"--ledger-service-name", "--ledger-lease", "--ledger-commit-interval", "--budget-when-ledger-unreachable"} {
		for _, a := range args {
			assert.NotContains(t, a, flag+"=", "a flag with no effect while the ledger is off")
		}
	}
	for _, o := range objects {
		assert.NotEqual(t, "tollgate-ledger", o.GetName(), "%s rendered without a ledger", id(o))
	}
	for _, p := range deployment(t, objects).Spec.Template.Spec.Containers[0].Ports {
		assert.NotEqual(t, "ledger", p.Name)
	}
	dnsNames, _, _ := unstructured.NestedStringSlice(find(t, objects, "Certificate", "tollgate-webhook").Object, "spec", "dnsNames")
	assert.Equal(t, []string{"tollgate-webhook.tollgate-system.svc", "tollgate-webhook.tollgate-system.svc.cluster.local"}, dnsNames)
}

func TestLedger_PortMustBeFreeInThePod(t *testing.T) {
	for name, set := range map[string][]string{
		"the metrics port":        {"ledger.port=8080"},
		"the health probes' port": {"ledger.port=8081"},
		"the webhook's port":      {"webhook.port=8443"},
	} {
		t.Run(name, func(t *testing.T) {
			args := []string{"template", "tollgate", chartDir}
			for _, s := range set {
				args = append(args, "--set", s)
			}
			_, stderr, err := run(t, "", helmPath(t), args...)
			require.Error(t, err, "helm accepted %v", set)
			assert.Contains(t, stderr, "is already the port of the webhook (webhook.port), the metrics (8080) or the health probes (8081): choose another")
		})
	}
	helm(t, "template", "tollgate", chartDir, "--set", "ledger.enabled=false", "--set", "webhook.port=8443")
}

// TestLedger_ServiceSelectsTheLeaderOnly: the Service selects the operator
// pods that carry the label the leader puts on its own pod, which no pod
// template carries (else every replica would get syncs).
func TestLedger_ServiceSelectsTheLeaderOnly(t *testing.T) {
	for renderName, r := range renders(t) {
		t.Run(renderName, func(t *testing.T) {
			d := deployment(t, r.objects)
			svc := typed[corev1.Service](t, find(t, r.objects, "Service", "tollgate-ledger"))
			want := map[string]string{operator.LeaderLabel: "true"}
			for k, v := range d.Spec.Selector.MatchLabels {
				want[k] = v
			}
			assert.Equal(t, want, svc.Spec.Selector)
			assert.NotContains(t, d.Spec.Template.Labels, operator.LeaderLabel)
			assert.Equal(t, corev1.ServiceTypeClusterIP, svc.Spec.Type)
			require.Len(t, svc.Spec.Ports, 1)
			assert.Equal(t, corev1.ProtocolTCP, svc.Spec.Ports[0].Protocol)
		})
	}
}

// TestLedger_AddsExactlyTheRBACItNeeds compares the RBAC with and without
// the ledger: it adds TokenReview creation (cluster-wide: authenticating
// sidecars) and get/patch on pods in the operator's namespace only
// (labelling the leader's own pod), and nothing else. Reading pods and
// policies, writing policy status and recording Events are the reconciler's
// rules already.
func TestLedger_AddsExactlyTheRBACItNeeds(t *testing.T) {
	for name, args := range map[string][]string{
		"self-managed certificates": nil,
		"cert-manager certificates": {"--set", "webhook.certManager.enabled=true"},
	} {
		t.Run(name, func(t *testing.T) {
			on := helmTemplate(t, operatorNamespace, args...)
			off := helmTemplate(t, operatorNamespace, append(args, "--set", "ledger.enabled=false")...)
			added := func(kind string) []rbacv1.PolicyRule {
				with, without := rules(t, find(t, on, kind, "tollgate-operator")), rules(t, find(t, off, kind, "tollgate-operator"))
				require.Subset(t, with, without, "the ledger takes no %s rule away", kind)
				var extra []rbacv1.PolicyRule
				for _, r := range with {
					if !containsRule(without, r) {
						extra = append(extra, r)
					}
				}
				return extra
			}
			assert.Equal(t, []rbacv1.PolicyRule{
				{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
			}, added("ClusterRole"))
			assert.Equal(t, []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "patch"}},
			}, added("Role"))
			assert.Equal(t, operatorNamespace, find(t, on, "Role", "tollgate-operator").GetNamespace())

			// What the ledger also does, granted without it.
			reconciler := rules(t, find(t, off, "ClusterRole", "tollgate-operator"))
			for _, need := range []struct{ group, resource, verb string }{
				{"", "pods", "get"}, {"", "pods", "list"}, {"", "pods", "watch"},
				{"tollgate.dev", "llmpolicies", "get"}, {"tollgate.dev", "llmpolicies", "watch"},
				{"tollgate.dev", "llmpolicies/status", "update"},
				{"", "events", "create"}, {"events.k8s.io", "events", "create"},
			} {
				assert.True(t, grants(reconciler, need.group, need.resource, need.verb), "the ClusterRole does not grant %+v", need)
			}
		})
	}
}

func rules(t *testing.T, o *unstructured.Unstructured) []rbacv1.PolicyRule {
	t.Helper()
	if o.GetKind() == "Role" {
		return typed[rbacv1.Role](t, o).Rules
	}
	return typed[rbacv1.ClusterRole](t, o).Rules
}

// grants reports whether a rule grants verb on every object of resource.
func grants(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if len(r.ResourceNames) == 0 && slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}

func containsRule(rules []rbacv1.PolicyRule, want rbacv1.PolicyRule) bool {
	for _, r := range rules {
		if assert.ObjectsAreEqual(r, want) {
			return true
		}
	}
	return false
}

// TestCertificates_CarryTheLedgerNames: the ledger is served with the
// webhook's certificate, so cert-manager's Certificate must name the host
// sidecars dial (the self-managed one gets the same names from the
// operator's --ledger-service-name).
func TestCertificates_CarryTheLedgerNames(t *testing.T) {
	objects := helmTemplate(t, operatorNamespace, "--set", "webhook.certManager.enabled=true")
	dnsNames, _, _ := unstructured.NestedStringSlice(find(t, objects, "Certificate", "tollgate-webhook").Object, "spec", "dnsNames")
	assert.Equal(t, []string{
		"tollgate-webhook.tollgate-system.svc",
		"tollgate-webhook.tollgate-system.svc.cluster.local",
		"tollgate-ledger.tollgate-system.svc",
		"tollgate-ledger.tollgate-system.svc.cluster.local",
		"tollgate-ledger.tollgate-system",
	}, dnsNames)

	u, err := url.Parse(operatorOptions(t, objects, operatorNamespace).Ledger.URLs[0])
	require.NoError(t, err)
	assert.Contains(t, dnsNames, u.Hostname(), "the name sidecars dial")
}

// TestValuesSchema_LedgerUnreachableIsTheCRDsEnum keeps the chart's copy of
// the enum equal to the API's, which the operator passes on unchanged.
func TestValuesSchema_LedgerUnreachableIsTheCRDsEnum(t *testing.T) {
	var schema struct {
		Properties struct {
			Budget struct {
				Properties struct {
					WhenLedgerUnreachable struct {
						Enum []string `json:"enum"`
					} `json:"whenLedgerUnreachable"`
				} `json:"properties"`
			} `json:"budget"`
		} `json:"properties"`
	}
	raw, err := os.ReadFile(filepath.Join(env.RepoRoot, chartDir, "values.schema.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &schema))

	crd := parseObjects(t, readFile(t, filepath.Join(chartDir, "crds", "tollgate.dev_llmpolicies.yaml")))
	require.Len(t, crd, 1)
	versions, _, _ := unstructured.NestedSlice(crd[0].Object, "spec", "versions")
	require.NotEmpty(t, versions)
	field, found, err := unstructured.NestedFieldNoCopy(versions[0].(map[string]any),
		"schema", "openAPIV3Schema", "properties", "spec", "properties", "budget", "properties", "whenLedgerUnreachable", "enum")
	require.NoError(t, err)
	require.True(t, found, "the CRD has no enum for spec.budget.whenLedgerUnreachable")
	var want []string
	for _, v := range field.([]any) {
		want = append(want, v.(string))
	}
	assert.Equal(t, want, schema.Properties.Budget.Properties.WhenLedgerUnreachable.Enum)
}

func deployment(t *testing.T, objects []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	for _, o := range objects {
		if o.GetKind() == "Deployment" {
			require.Nil(t, d, "more than one Deployment")
			d = typed[appsv1.Deployment](t, o)
		}
	}
	require.NotNil(t, d, "no Deployment among %v", ids(objects))
	require.Len(t, d.Spec.Template.Spec.Containers, 1)
	return d
}

// readFile returns a file of the repository as a string.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.RepoRoot, path))
	require.NoError(t, err)
	return string(b)
}
