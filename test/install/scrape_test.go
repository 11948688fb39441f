package install

import (
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"tollgate.dev/tollgate/internal/operator/inject"
)

// strictly converts o into the Prometheus operator's API type T, failing
// on a field T does not have, as a typo the API server would drop.
func strictly[T any](t *testing.T, o *unstructured.Unstructured) *T {
	t.Helper()
	var v T
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &v, true), "%s has fields the Prometheus operator's API does not know", id(o))
	return &v
}

func TestMonitoring_NothingIsInstalledByDefault(t *testing.T) {
	for _, o := range helmTemplate(t, operatorNamespace) {
		assert.NotEqual(t, "monitoring.coreos.com", o.GroupVersionKind().Group, "%s is opt-in", id(o))
		assert.NotContains(t, o.GetLabels(), "grafana_dashboard", "%s is opt-in", id(o))
	}
}

// TestServiceMonitor_ScrapesTheOperatorsMetricsService checks the
// ServiceMonitor against what it must find: the metrics Service (its
// labels, namespace and port name), which reaches the operator
// container's metrics port, where --metrics-bind-address serves; and
// honorLabels, without which the budget metrics' namespace label would be
// renamed exported_namespace and the alerts would name the operator's
// namespace.
func TestServiceMonitor_ScrapesTheOperatorsMetricsService(t *testing.T) {
	assert.False(t, has(helmTemplate(t, operatorNamespace, "--set", "podMonitor.enabled=true"), "ServiceMonitor"))

	objects := helmTemplate(t, operatorNamespace, "--set", "serviceMonitor.enabled=true",
		"--set", "serviceMonitor.labels.release=kube-prometheus-stack", "--set", "serviceMonitor.interval=15s")
	sm := strictly[monitoringv1.ServiceMonitor](t, find(t, objects, "ServiceMonitor", "tollgate-operator"))
	assert.Equal(t, operatorNamespace, sm.Namespace)
	assert.Equal(t, "kube-prometheus-stack", sm.Labels["release"], "the label the Prometheus operator's serviceMonitorSelector matches")
	assert.Equal(t, []string{operatorNamespace}, sm.Spec.NamespaceSelector.MatchNames)

	selector, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	require.NoError(t, err)
	var selected []corev1.Service
	for _, o := range objects {
		if o.GetKind() == "Service" && selector.Matches(k8slabels.Set(o.GetLabels())) {
			selected = append(selected, *typed[corev1.Service](t, o))
		}
	}
	require.Len(t, sm.Spec.Endpoints, 1)
	ep := sm.Spec.Endpoints[0]
	var scraped []string
	for _, svc := range selected {
		for _, p := range svc.Spec.Ports {
			if p.Name == ep.Port {
				scraped = append(scraped, svc.Name)
				assert.Equal(t, "metrics", p.TargetPort.String(), "Service %s sends port %s to the container port named metrics", svc.Name, p.Name)
			}
		}
	}
	assert.Equal(t, []string{"tollgate-operator-metrics"}, scraped, "of the Services the selector matches, only the metrics Service has port %s", ep.Port)
	assert.Equal(t, "/metrics", ep.Path)
	assert.True(t, ep.HonorLabels, "the budget metrics keep their own namespace label")
	assert.Equal(t, monitoringv1.Duration("15s"), ep.Interval)

	d := typed[appsv1.Deployment](t, find(t, objects, "Deployment", "tollgate-operator"))
	c := d.Spec.Template.Spec.Containers[0]
	port := containerPort(t, c, "metrics")
	assert.Contains(t, c.Args, "--metrics-bind-address=:"+strconv.Itoa(int(port)), "the operator serves /metrics on the port the Service targets, on every interface")

	sm = strictly[monitoringv1.ServiceMonitor](t, find(t, helmTemplate(t, operatorNamespace, "--set", "serviceMonitor.enabled=true"), "ServiceMonitor", "tollgate-operator"))
	assert.Empty(t, sm.Spec.Endpoints[0].Interval, "no interval: Prometheus' own")
}

// TestPodMonitor_ScrapesTheInjectedSidecars checks the PodMonitor against
// a pod the webhook's injection code (internal/operator/inject) gives the
// sidecar: the port it scrapes is the sidecar's, named so in the pod, and
// the sidecar binds its admin server (/metrics) there on every interface,
// not on loopback like the proxy.
func TestPodMonitor_ScrapesTheInjectedSidecars(t *testing.T) {
	assert.False(t, has(helmTemplate(t, operatorNamespace, "--set", "serviceMonitor.enabled=true"), "PodMonitor"))

	objects := helmTemplate(t, operatorNamespace, "--set", "podMonitor.enabled=true",
		"--set", "podMonitor.labels.release=kube-prometheus-stack", "--set", "podMonitor.interval=20s")
	pm := strictly[monitoringv1.PodMonitor](t, find(t, objects, "PodMonitor", "tollgate-sidecars"))
	assert.Equal(t, operatorNamespace, pm.Namespace)
	assert.Equal(t, "kube-prometheus-stack", pm.Labels["release"], "the label the Prometheus operator's podMonitorSelector matches")
	assert.True(t, pm.Spec.NamespaceSelector.Any, "every namespace by default")
	assert.Empty(t, pm.Spec.Selector.MatchLabels, "apps' pods carry no label of Tollgate's: every pod is selected, the port name picks the sidecars")
	assert.Empty(t, pm.Spec.Selector.MatchExpressions)
	require.Len(t, pm.Spec.PodMetricsEndpoints, 1)
	ep := pm.Spec.PodMetricsEndpoints[0]
	require.NotNil(t, ep.Port)
	assert.Equal(t, "/metrics", ep.Path)
	assert.Equal(t, monitoringv1.Duration("20s"), ep.Interval)

	app := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "chat", Namespace: "shop"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
	}
	injected, err := inject.Inject(app, nil, inject.DefaultConfig())
	require.NoError(t, err)
	var scraped []string
	for _, c := range append(injected.Spec.InitContainers, injected.Spec.Containers...) {
		for _, p := range c.Ports {
			if p.Name == *ep.Port {
				scraped = append(scraped, c.Name)
				assert.Contains(t, c.Args, "--admin=0.0.0.0:"+strconv.Itoa(int(p.ContainerPort)), "the sidecar serves /metrics on port %s on the pod's address", p.Name)
			}
		}
	}
	assert.Equal(t, []string{inject.ContainerName}, scraped, "only the sidecar's container has port %s", *ep.Port)

	pm = strictly[monitoringv1.PodMonitor](t, find(t, helmTemplate(t, operatorNamespace, "--set", "podMonitor.enabled=true", "--set", "podMonitor.namespaces={shop,support}"), "PodMonitor", "tollgate-sidecars"))
	assert.False(t, pm.Spec.NamespaceSelector.Any)
	assert.Equal(t, []string{"shop", "support"}, pm.Spec.NamespaceSelector.MatchNames)
	assert.Empty(t, pm.Spec.PodMetricsEndpoints[0].Interval, "no interval: Prometheus' own")
}

func containerPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	var names []string
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
		names = append(names, p.Name)
	}
	require.Failf(t, "no such port", "container %s has no port %s (it has %s)", c.Name, name, strings.Join(names, ", "))
	return 0
}

// TestREADME_DashboardsAndAlertsCommandInstallsAllFour renders the chart
// with the values of the README's command under "Dashboards and alerts":
// it must give each monitoring object, with the labels kube-prometheus-stack
// selects.
func TestREADME_DashboardsAndAlertsCommandInstallsAllFour(t *testing.T) {
	lines := shellBlock(t, readFile(t, "README.md"), "### Dashboards and alerts")
	command := strings.Fields(strings.ReplaceAll(strings.Join(lines, " "), `\`, ""))
	prefix := strings.Fields("helm upgrade --install tollgate charts/tollgate -n " + operatorNamespace)
	require.Equal(t, prefix, command[:len(prefix)], "the README's command installs release tollgate from charts/tollgate")

	objects := helmTemplate(t, operatorNamespace, command[len(prefix):]...)
	for _, kind := range []string{"ServiceMonitor", "PodMonitor", "PrometheusRule"} {
		var found bool
		for _, o := range objects {
			if o.GetKind() == kind {
				found = true
				assert.Equal(t, "kube-prometheus-stack", o.GetLabels()["release"], "%s carries the label the Prometheus operator selects by", id(o))
			}
		}
		assert.True(t, found, "the README's command installs no %s", kind)
	}
	find(t, objects, "ConfigMap", "tollgate-dashboard")
}
