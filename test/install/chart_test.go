package install

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// operatorNamespace is where the tests install the chart.
const operatorNamespace = "tollgate-system"

func TestChart_LintsCleanWithEachValuesSet(t *testing.T) {
	tests := map[string][]string{
		"defaults":                    nil,
		"cert-manager certificates":   {"--set", "webhook.certManager.enabled=true"},
		"one replica without leaders": {"--set", "replicaCount=1", "--set", "leaderElection.enabled=false"},
		"every optional object": {
			"--set", "podDisruptionBudget.enabled=true",
			"--set", "imagePullSecrets[0].name=regcred",
			"--set", "serviceAccount.annotations.team=platform",
			"--set", "prometheusRule.enabled=true",
			"--set", "prometheusRule.labels.release=kube-prometheus-stack",
			"--set", "serviceMonitor.enabled=true",
			"--set", "podMonitor.enabled=true",
			"--set", "grafanaDashboard.enabled=true",
		},
		"without the budget ledger":               {"--set", "ledger.enabled=false"},
		"budgets allowed through a ledger outage": {"--set", "budget.whenLedgerUnreachable=Allow"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			helm(t, append([]string{"lint", "--strict", chartDir}, args...)...)
		})
	}
}

// TestChart_DeploymentRunsTheOperatorWithTheSharedFlags pins the contract
// between the chart and cmd/operator: the flags, the names the webhook shares
// with the operator, and a hardened pod.
func TestChart_DeploymentRunsTheOperatorWithTheSharedFlags(t *testing.T) {
	objects := helmTemplate(t, operatorNamespace)
	d := typed[appsv1.Deployment](t, find(t, objects, "Deployment", "tollgate-operator"))

	require.NotNil(t, d.Spec.Replicas)
	assert.Equal(t, int32(2), *d.Spec.Replicas)
	pod := d.Spec.Template.Spec
	assert.Equal(t, "tollgate-operator", pod.ServiceAccountName)
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	assert.Equal(t, "ghcr.io/tollgate-dev/tollgate-operator:0.1.0", c.Image)
	assert.Equal(t, []string{
		"--cert-management=self",
		"--leader-elect=true",
		"--metrics-bind-address=:8080",
		"--health-probe-bind-address=:8081",
		"--webhook-port=9443",
		"--webhook-cert-dir=/tmp/k8s-webhook-server/serving-certs",
		"--webhook-service-name=tollgate-webhook",
		"--webhook-config-name=tollgate-sidecar-injector",
		"--webhook-cert-secret=tollgate-webhook-cert",
		"--sidecar-image=ghcr.io/tollgate-dev/tollgate-sidecar:0.1.0",
		"--sidecar-image-pull-policy=IfNotPresent",
		"--sidecar-cpu-request=50m",
		"--sidecar-memory-request=32Mi",
		"--sidecar-cpu-limit=",
		"--sidecar-memory-limit=128Mi",
		"--sidecar-log-level=info",
		"--sidecar-max-request-bytes=8Mi",
		"--sidecar-max-buffered-bytes=32Mi",
		"--sidecar-otel-endpoint=",
		"--ledger-bind-address=:8443",
		"--ledger-service-name=tollgate-ledger",
		"--ledger-lease=2m",
		"--ledger-commit-interval=2s",
		"--budget-when-ledger-unreachable=Block",
		"--log-level=info",
	}, c.Args)

	// --namespace and --pod-name default to these.
	fields := map[string]string{}
	for _, e := range c.Env {
		require.NotNil(t, e.ValueFrom, e.Name)
		require.NotNil(t, e.ValueFrom.FieldRef, e.Name)
		fields[e.Name] = e.ValueFrom.FieldRef.FieldPath
	}
	assert.Equal(t, map[string]string{"POD_NAMESPACE": "metadata.namespace", "POD_NAME": "metadata.name"}, fields)

	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	assert.Equal(t, map[string]int32{"webhook": 9443, "ledger": 8443, "metrics": 8080, "health": 8081}, ports)
	require.NotNil(t, c.LivenessProbe)
	require.NotNil(t, c.ReadinessProbe)
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	assert.Equal(t, intstr.FromString("health"), c.LivenessProbe.HTTPGet.Port)
	assert.Equal(t, intstr.FromString("health"), c.ReadinessProbe.HTTPGet.Port)

	assert.Equal(t, resource.MustParse("100m"), c.Resources.Requests[corev1.ResourceCPU])
	assert.Equal(t, resource.MustParse("256Mi"), c.Resources.Limits[corev1.ResourceMemory])

	sc := c.SecurityContext
	require.NotNil(t, sc)
	assert.Equal(t, new(true), sc.RunAsNonRoot)
	assert.Equal(t, new(true), sc.ReadOnlyRootFilesystem)
	assert.Equal(t, new(false), sc.AllowPrivilegeEscalation)
	require.NotNil(t, sc.Capabilities)
	assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
	require.NotNil(t, sc.SeccompProfile)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type)

	require.Len(t, c.VolumeMounts, 1)
	assert.Equal(t, "/tmp/k8s-webhook-server/serving-certs", c.VolumeMounts[0].MountPath)
	require.Len(t, pod.Volumes, 1)
	require.NotNil(t, pod.Volumes[0].Secret)
	assert.Equal(t, c.VolumeMounts[0].Name, pod.Volumes[0].Name)
	assert.Equal(t, "tollgate-webhook-cert", pod.Volumes[0].Secret.SecretName)
	assert.Equal(t, new(true), pod.Volumes[0].Secret.Optional, "the operator creates the Secret after it starts")

	for _, name := range []string{"tollgate-webhook", "tollgate-operator-metrics"} {
		svc := typed[corev1.Service](t, find(t, objects, "Service", name))
		assert.Equal(t, d.Spec.Selector.MatchLabels, svc.Spec.Selector, "Service %s selects the operator pods", name)
		assert.Subset(t, d.Spec.Template.Labels, d.Spec.Selector.MatchLabels)
	}
	svc := typed[corev1.Service](t, find(t, objects, "Service", "tollgate-webhook"))
	require.Len(t, svc.Spec.Ports, 1)
	assert.Equal(t, int32(443), svc.Spec.Ports[0].Port)
	assert.Equal(t, intstr.FromString("webhook"), svc.Spec.Ports[0].TargetPort)
}

func TestChart_EveryObjectCarriesTheStandardLabels(t *testing.T) {
	for _, o := range helmTemplate(t, operatorNamespace, "--set", "podDisruptionBudget.enabled=true", "--set", "webhook.certManager.enabled=true") {
		if o.GetKind() == "CustomResourceDefinition" {
			continue // crds/ is copied verbatim from config/crd/bases.
		}
		labels := o.GetLabels()
		assert.Equal(t, "tollgate", labels["app.kubernetes.io/name"], id(o))
		assert.Equal(t, "tollgate", labels["app.kubernetes.io/instance"], id(o))
		assert.Equal(t, "0.1.0", labels["app.kubernetes.io/version"], id(o))
		assert.Equal(t, "Helm", labels["app.kubernetes.io/managed-by"], id(o))
		assert.Equal(t, "tollgate-0.1.0", labels["helm.sh/chart"], id(o))
	}
}

func TestChart_ValuesReachTheRender(t *testing.T) {
	tests := map[string]struct {
		set   []string
		check func(t *testing.T, d *appsv1.Deployment, mwc *admissionregistrationv1.MutatingWebhookConfiguration)
	}{
		"replicaCount sets the replicas": {
			set: []string{"replicaCount=3"},
			check: func(t *testing.T, d *appsv1.Deployment, _ *admissionregistrationv1.MutatingWebhookConfiguration) {
				assert.Equal(t, int32(3), *d.Spec.Replicas)
			},
		},
		"leader election can be turned off": {
			set: []string{"leaderElection.enabled=false"},
			check: func(t *testing.T, d *appsv1.Deployment, _ *admissionregistrationv1.MutatingWebhookConfiguration) {
				assert.Contains(t, d.Spec.Template.Spec.Containers[0].Args, "--leader-elect=false")
			},
		},
		"failurePolicy Fail applies to both webhooks": {
			set: []string{"webhook.failurePolicy=Fail"},
			check: func(t *testing.T, _ *appsv1.Deployment, mwc *admissionregistrationv1.MutatingWebhookConfiguration) {
				for _, w := range mwc.Webhooks {
					assert.Equal(t, admissionregistrationv1.Fail, *w.FailurePolicy, w.Name)
				}
			},
		},
		"webhook.port moves the container port and the flag": {
			set: []string{"webhook.port=10250"},
			check: func(t *testing.T, d *appsv1.Deployment, _ *admissionregistrationv1.MutatingWebhookConfiguration) {
				c := d.Spec.Template.Spec.Containers[0]
				assert.Contains(t, c.Args, "--webhook-port=10250")
				assert.Contains(t, c.Ports, corev1.ContainerPort{Name: "webhook", ContainerPort: 10250, Protocol: corev1.ProtocolTCP})
			},
		},
		"ledger values become flags and the container port": {
			set: []string{"ledger.port=9000", "ledger.lease=5m", "ledger.commitInterval=500ms", "budget.whenLedgerUnreachable=Allow"},
			check: func(t *testing.T, d *appsv1.Deployment, _ *admissionregistrationv1.MutatingWebhookConfiguration) {
				c := d.Spec.Template.Spec.Containers[0]
				assert.Subset(t, c.Args, []string{
					"--ledger-bind-address=:9000", "--ledger-lease=5m", "--ledger-commit-interval=500ms",
					"--budget-when-ledger-unreachable=Allow",
				})
				assert.Contains(t, c.Ports, corev1.ContainerPort{Name: "ledger", ContainerPort: 9000, Protocol: corev1.ProtocolTCP})
			},
		},
		"image tags and sidecar settings become flags": {
			set: []string{
				"image.tag=v9", "sidecar.image.repository=registry.local/sidecar", "sidecar.image.tag=v8",
				"sidecar.image.pullPolicy=Always", "sidecar.logLevel=debug", "logLevel=warn",
				"sidecar.resources.limits.cpu=500m", "sidecar.resources.limits.memory=",
			},
			check: func(t *testing.T, d *appsv1.Deployment, _ *admissionregistrationv1.MutatingWebhookConfiguration) {
				c := d.Spec.Template.Spec.Containers[0]
				assert.Equal(t, "ghcr.io/tollgate-dev/tollgate-operator:v9", c.Image)
				assert.Subset(t, c.Args, []string{
					"--sidecar-image=registry.local/sidecar:v8", "--sidecar-image-pull-policy=Always",
					"--sidecar-log-level=debug", "--log-level=warn",
					"--sidecar-cpu-limit=500m", "--sidecar-memory-limit=",
				})
			},
		},
		"the sidecars' OpenTelemetry export becomes a flag": {
			set: []string{"sidecar.otel.endpoint=https://otel-collector.observability:4318"},
			check: func(t *testing.T, d *appsv1.Deployment, _ *admissionregistrationv1.MutatingWebhookConfiguration) {
				args := d.Spec.Template.Spec.Containers[0].Args
				assert.Contains(t, args, "--sidecar-otel-endpoint=https://otel-collector.observability:4318")
				for _, a := range args {
					assert.NotContains(t, a, "--sidecar-otel-protocol", "OTLP/HTTP is the only protocol")
				}
			},
		},
		"scheduling values reach the pod": {
			set: []string{
				"nodeSelector.pool=system", "tolerations[0].key=dedicated", "tolerations[0].operator=Exists",
				"priorityClassName=system-cluster-critical", "podLabels.team=platform", "podAnnotations.note=x",
				"imagePullSecrets[0].name=regcred",
			},
			check: func(t *testing.T, d *appsv1.Deployment, _ *admissionregistrationv1.MutatingWebhookConfiguration) {
				pod := d.Spec.Template
				assert.Equal(t, map[string]string{"pool": "system"}, pod.Spec.NodeSelector)
				assert.Equal(t, []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}, pod.Spec.Tolerations)
				assert.Equal(t, "system-cluster-critical", pod.Spec.PriorityClassName)
				assert.Equal(t, "platform", pod.Labels["team"])
				assert.Equal(t, "x", pod.Annotations["note"])
				assert.Equal(t, []corev1.LocalObjectReference{{Name: "regcred"}}, pod.Spec.ImagePullSecrets)
				assert.NotContains(t, d.Spec.Selector.MatchLabels, "team", "pod labels never enter the immutable selector")
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var args []string
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			objects := helmTemplate(t, operatorNamespace, args...)
			tc.check(t,
				typed[appsv1.Deployment](t, find(t, objects, "Deployment", "tollgate-operator")),
				typed[admissionregistrationv1.MutatingWebhookConfiguration](t, find(t, objects, "MutatingWebhookConfiguration", "tollgate-sidecar-injector")))
		})
	}
}

func TestChart_PodDisruptionBudgetIsOptIn(t *testing.T) {
	assert.False(t, has(helmTemplate(t, operatorNamespace), "PodDisruptionBudget"))

	objects := helmTemplate(t, operatorNamespace, "--set", "podDisruptionBudget.enabled=true")
	pdb := typed[policyv1.PodDisruptionBudget](t, find(t, objects, "PodDisruptionBudget", "tollgate-operator"))
	d := typed[appsv1.Deployment](t, find(t, objects, "Deployment", "tollgate-operator"))
	assert.Equal(t, new(intstr.FromInt32(1)), pdb.Spec.MinAvailable)
	assert.Equal(t, d.Spec.Selector, pdb.Spec.Selector)
}

func TestChart_RefusesKubernetesWithoutNativeSidecars(t *testing.T) {
	_, stderr, err := run(t, "", helmPath(t), "template", "tollgate", chartDir, "--kube-version", "v1.28.9")
	require.Error(t, err)
	assert.Contains(t, stderr, "chart requires kubeVersion: >=1.29.0-0")

	helm(t, "template", "tollgate", chartDir, "--kube-version", "v1.29.0")
}

func TestValuesSchema_RejectsBadValues(t *testing.T) {
	tests := map[string]struct {
		set        []string
		wantErrors []string
	}{
		"a failurePolicy that is neither Ignore nor Fail": {
			set:        []string{"webhook.failurePolicy=Sometimes"},
			wantErrors: []string{"/webhook/failurePolicy", "value must be one of 'Ignore', 'Fail'"},
		},
		"negative replicas": {
			set:        []string{"replicaCount=-1"},
			wantErrors: []string{"/replicaCount", "minimum: got -1, want 1"},
		},
		"an unknown operator pullPolicy": {
			set:        []string{"image.pullPolicy=Sometimes"},
			wantErrors: []string{"/image/pullPolicy", "value must be one of 'Always', 'IfNotPresent', 'Never'"},
		},
		"an unknown sidecar pullPolicy": {
			set:        []string{"sidecar.image.pullPolicy=always"},
			wantErrors: []string{"/sidecar/image/pullPolicy", "value must be one of 'Always', 'IfNotPresent', 'Never'"},
		},
		"a misspelled key": {
			set:        []string{"replicas=3"},
			wantErrors: []string{"additional properties 'replicas' not allowed"},
		},
		"a misspelled nested key": {
			set:        []string{"webhook.certmanager.enabled=true"},
			wantErrors: []string{"/webhook", "additional properties 'certmanager' not allowed"},
		},
		"a whenLedgerUnreachable that is neither Block nor Allow": {
			set:        []string{"budget.whenLedgerUnreachable=Ignore"},
			wantErrors: []string{"/budget/whenLedgerUnreachable", "value must be one of 'Block', 'Allow'"},
		},
		"a whenLedgerUnreachable in the wrong case": {
			set:        []string{"budget.whenLedgerUnreachable=block"},
			wantErrors: []string{"/budget/whenLedgerUnreachable", "value must be one of 'Block', 'Allow'"},
		},
		"a ledger port out of range": {
			set:        []string{"ledger.port=0"},
			wantErrors: []string{"/ledger/port", "minimum: got 0, want 1"},
		},
		"a lease that is not a duration": {
			set:        []string{"ledger.lease=2 minutes"},
			wantErrors: []string{"/ledger/lease", "does not match pattern"},
		},
		"a lease without a unit": {
			set:        []string{"ledger.lease=120"},
			wantErrors: []string{"/ledger/lease", "got number, want string"},
		},
		"a zero commit interval": {
			set:        []string{"ledger.commitInterval=0s"},
			wantErrors: []string{"/ledger/commitInterval"},
		},
		"the ledger switched on with a string": {
			set:        []string{"ledger.enabled=yes"},
			wantErrors: []string{"/ledger/enabled", "got string, want boolean"},
		},
		"a misspelled ledger key": {
			set:        []string{"ledger.commit=5s"},
			wantErrors: []string{"/ledger", "additional properties 'commit' not allowed"},
		},
		"a PrometheusRule label that is not a string": {
			set:        []string{"prometheusRule.labels.release=1"},
			wantErrors: []string{"/prometheusRule/labels/release", "got number, want string"},
		},
		"an alert duration in words": {
			set:        []string{"prometheusRule.alerts.podsUninjected.for=5 minutes"},
			wantErrors: []string{"/prometheusRule/alerts/podsUninjected/for", "does not match pattern"},
		},
		"a Go duration Prometheus does not read": {
			set:        []string{"prometheusRule.alerts.circuitBreakerOpen.for=1.5m"},
			wantErrors: []string{"/prometheusRule/alerts/circuitBreakerOpen/for", "does not match pattern"},
		},
		"units smallest first": {
			set:        []string{"prometheusRule.alerts.errorRatio.for=30s5m"},
			wantErrors: []string{"/prometheusRule/alerts/errorRatio/for", "does not match pattern"},
		},
		"a zero window": {
			set:        []string{"prometheusRule.alerts.ledgerStatusWritesFailing.window=0m"},
			wantErrors: []string{"/prometheusRule/alerts/ledgerStatusWritesFailing/window"},
		},
		"a window the reload alert no longer has": {
			set:        []string{"prometheusRule.alerts.configReloadFailed.window=15m"},
			wantErrors: []string{"/prometheusRule/alerts/configReloadFailed", "window"},
		},
		"an error ratio threshold of all requests": {
			set:        []string{"prometheusRule.alerts.errorRatio.threshold=1"},
			wantErrors: []string{"/prometheusRule/alerts/errorRatio/threshold", "exclusiveMaximum"},
		},
		"an error ratio threshold as a percentage": {
			set:        []string{"prometheusRule.alerts.errorRatio.threshold=5%"},
			wantErrors: []string{"/prometheusRule/alerts/errorRatio/threshold", "does not match pattern"},
		},
		"an outcome spelled as retryOn spells failures": {
			set:        []string{"prometheusRule.alerts.errorRatio.outcomes={ServerError}"},
			wantErrors: []string{"/prometheusRule/alerts/errorRatio/outcomes/0", "does not match pattern"},
		},
		"a misspelled alert": {
			set:        []string{"prometheusRule.alerts.breakerOpen.for=5m"},
			wantErrors: []string{"/prometheusRule/alerts", "additional properties 'breakerOpen' not allowed"},
		},
		"a scrape interval of zero": {
			set:        []string{"serviceMonitor.interval=0s"},
			wantErrors: []string{"/serviceMonitor/interval"},
		},
		"a scrape interval without a unit": {
			set:        []string{"podMonitor.interval=30"},
			wantErrors: []string{"/podMonitor/interval", "got number, want string"},
		},
		"a PodMonitor namespace that is no namespace name": {
			set:        []string{"podMonitor.namespaces={Shop}"},
			wantErrors: []string{"/podMonitor/namespaces/0", "does not match pattern"},
		},
		"a dashboard label that is no label key": {
			set:        []string{"grafanaDashboard.label=grafana dashboard"},
			wantErrors: []string{"/grafanaDashboard/label", "does not match pattern"},
		},
		"a dashboard namespace that is no namespace name": {
			set:        []string{"grafanaDashboard.namespace=Monitoring"},
			wantErrors: []string{"/grafanaDashboard/namespace"},
		},
		"a webhook timeout above the API server's 30s maximum": {
			set:        []string{"webhook.timeoutSeconds=31"},
			wantErrors: []string{"/webhook/timeoutSeconds", "maximum: got 31, want 30"},
		},
		"a port out of range": {
			set:        []string{"webhook.port=70000"},
			wantErrors: []string{"/webhook/port", "maximum: got 70,000, want 65,535"},
		},
		"an unknown log level": {
			set:        []string{"sidecar.logLevel=verbose"},
			wantErrors: []string{"/sidecar/logLevel", "value must be one of 'debug', 'info', 'warn', 'error'"},
		},
		"a sidecar limit that is not a quantity": {
			set:        []string{"sidecar.resources.limits.memory=lots"},
			wantErrors: []string{"/sidecar/resources/limits/memory", "'lots' does not match pattern"},
		},
		"an image tag with a space": {
			set:        []string{"image.tag=v1 beta"},
			wantErrors: []string{"/image/tag", "does not match pattern"},
		},
		"an OpenTelemetry endpoint without a scheme": {
			set:        []string{"sidecar.otel.endpoint=otel-collector:4317"},
			wantErrors: []string{"/sidecar/otel/endpoint", "does not match pattern"},
		},
		"an OpenTelemetry protocol, which is no longer a choice": {
			set:        []string{"sidecar.otel.protocol=grpc"},
			wantErrors: []string{"/sidecar/otel", "additional properties 'protocol' not allowed"},
		},
		"leader election as a string": {
			set:        []string{"leaderElection.enabled=yes"},
			wantErrors: []string{"/leaderElection/enabled", "got string, want boolean"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := []string{"template", "tollgate", chartDir}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			_, stderr, err := run(t, "", helmPath(t), args...)
			require.Error(t, err, "helm accepted %v", tc.set)
			assert.Contains(t, stderr, "values don't meet the specifications of the schema")
			for _, want := range tc.wantErrors {
				assert.Contains(t, stderr, want)
			}
		})
	}
}

func TestValuesSchema_AcceptsTheDocumentedForms(t *testing.T) {
	tests := map[string][]string{
		"a numeric CPU limit":                     {"--set", "sidecar.resources.limits.cpu=0.5"},
		"no sidecar memory limit":                 {"--set", "sidecar.resources.limits.memory="},
		"a percentage for the PDB":                {"--set", "podDisruptionBudget.minAvailable=50%"},
		"an image pinned by digest":               {"--set", "image.tag=sha256:" + strings.Repeat("a", 64)},
		"a registry with a port":                  {"--set", "image.repository=registry.local:5000/tollgate/operator"},
		"an existing ServiceAccount":              {"--set", "serviceAccount.create=false", "--set", "serviceAccount.name=ops"},
		"the Fail policy with cert-manager":       {"--set", "webhook.failurePolicy=Fail", "--set", "webhook.certManager.enabled=true"},
		"a global section from a parent chart":    {"--set", "global.imageRegistry=mirror.local"},
		"budgets allowed through a ledger outage": {"--set", "budget.whenLedgerUnreachable=Allow"},
		"durations in hours, seconds and milliseconds": {
			"--set", "ledger.lease=1h30m", "--set", "ledger.commitInterval=1500ms",
		},
		"a fractional duration":                         {"--set", "ledger.commitInterval=2.5s"},
		"the ledger off":                                {"--set", "ledger.enabled=false"},
		"OpenTelemetry to a collector's OTLP/HTTP port": {"--set", "sidecar.otel.endpoint=http://otel-collector.observability:4318"},
		"a PrometheusRule for kube-prometheus-stack": {
			"--set", "prometheusRule.enabled=true", "--set", "prometheusRule.labels.release=kube-prometheus-stack",
		},
		"every monitoring part for kube-prometheus-stack": {
			"--set", "serviceMonitor.enabled=true", "--set", "serviceMonitor.labels.release=kube-prometheus-stack",
			"--set", "podMonitor.enabled=true", "--set", "podMonitor.labels.release=kube-prometheus-stack",
			"--set", "prometheusRule.enabled=true", "--set", "grafanaDashboard.enabled=true",
		},
		"alert durations in Prometheus' units": {
			"--set", "prometheusRule.alerts.podsUninjected.for=1h30m", "--set", "prometheusRule.alerts.configReloadFailed.for=1d",
			"--set-string", "prometheusRule.alerts.budgetExhausted.for=0", "--set", "prometheusRule.alerts.ledgerStatusWritesFailing.window=90s",
		},
		"an error ratio of 2.5%":     {"--set", "prometheusRule.alerts.errorRatio.threshold=0.025"},
		"an error ratio as JSON":     {"--set-json", "prometheusRule.alerts.errorRatio.threshold=0.1"},
		"scrape intervals":           {"--set", "serviceMonitor.interval=30s", "--set", "podMonitor.interval=1m"},
		"sidecars of two namespaces": {"--set", "podMonitor.namespaces={shop,support}"},
		"the dashboard where Grafana's sidecar watches, in a folder": {
			"--set", "grafanaDashboard.enabled=true", "--set", "grafanaDashboard.namespace=monitoring",
			"--set", "grafanaDashboard.annotations.grafana_folder=Tollgate",
			"--set", "grafanaDashboard.label=example.com/dashboard", "--set", "grafanaDashboard.labelValue=",
		},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			helm(t, append([]string{"template", "tollgate", chartDir}, args...)...)
		})
	}
}

func TestChart_ExistingServiceAccountMustBeNamed(t *testing.T) {
	_, stderr, err := run(t, "", helmPath(t), "template", "tollgate", chartDir, "--set", "serviceAccount.create=false")
	require.Error(t, err)
	assert.Contains(t, stderr, "serviceAccount.name is required when serviceAccount.create is false")

	objects := helmTemplate(t, operatorNamespace, "--set", "serviceAccount.create=false", "--set", "serviceAccount.name=ops")
	assert.False(t, has(objects, "ServiceAccount"))
	d := typed[appsv1.Deployment](t, find(t, objects, "Deployment", "tollgate-operator"))
	assert.Equal(t, "ops", d.Spec.Template.Spec.ServiceAccountName)
}
