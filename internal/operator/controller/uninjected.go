package controller

import (
	"context"
	"fmt"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"tollgate.dev/tollgate/internal/operator/inject"
)

// podsUninjected is how many pods of a namespace asked for the sidecar but
// run without it: with the webhook's failurePolicy Ignore, pods created
// while the operator was down are admitted as they are.
var podsUninjected = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "tollgate_pods_uninjected",
	Help: "Pods that opted in to the Tollgate sidecar but were admitted without it (e.g. while the webhook was unavailable); restart them to inject.",
}, []string{"namespace"})

func init() {
	metrics.Registry.MustRegister(podsUninjected)
}

// checkUninjected counts the namespace's pods that opted in but have no
// sidecar, exports the count and logs when it changes.
func (r *Reconciler) checkUninjected(ctx context.Context, ns string, pods []metav1.PartialObjectMetadata) error {
	var namespace corev1.Namespace
	err := r.Client.Get(ctx, types.NamespacedName{Name: ns}, &namespace)
	if apierrors.IsNotFound(err) {
		podsUninjected.DeleteLabelValues(ns)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read namespace %s: %w", ns, err)
	}
	var names []string
	for i := range pods {
		pod := &corev1.Pod{ObjectMeta: pods[i].ObjectMeta}
		if wanted, _ := inject.Wanted(pod, namespace.Labels); wanted && pod.Annotations[inject.InjectedAnnotation] != "true" {
			names = append(names, pod.Name)
		}
	}
	sort.Strings(names)
	podsUninjected.WithLabelValues(ns).Set(float64(len(names)))

	r.mu.Lock()
	if r.uninjected == nil {
		r.uninjected = map[string]int{}
	}
	changed := r.uninjected[ns] != len(names)
	r.uninjected[ns] = len(names)
	r.mu.Unlock()
	if changed && len(names) > 0 {
		if len(names) > maxNamedPods {
			names = append(names[:maxNamedPods], fmt.Sprintf("and %d more", len(names)-maxNamedPods))
		}
		// The reconciler's logger names the namespace already.
		ctrl.LoggerFrom(ctx).Info("pods opted in to the sidecar but run without it; was the webhook unavailable when they were created? Delete them (or roll their Deployment) to inject",
			"pods", names)
	}
	return nil
}
