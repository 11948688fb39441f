package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/operator/inject"
)

// ControllerName names the controller in logs and metrics.
const ControllerName = "llmpolicy"

// SetupWithManager registers the reconciler. Every watched object enqueues
// its namespace (as the request {namespace, inject.ConfigMapName}):
//   - LLMPolicies, on create, delete and spec changes (status writes do not
//     change the generation, so the reconciler's own writes do not loop);
//   - Pods, metadata only, on create, delete, label and annotation changes;
//   - the operator's ConfigMaps, so an edited or deleted bundle is repaired.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named(ControllerName).
		Watches(&v1alpha1.LLMPolicy{}, handler.EnqueueRequestsFromMapFunc(namespaceOf),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesMetadata(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(namespaceOf),
			builder.WithPredicates(podChanged())).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(namespaceOf),
			builder.WithPredicates(predicate.NewPredicateFuncs(isBundle))).
		Complete(r)
}

// ManagedConfigMaps is the label selector of the ConfigMaps the operator
// owns; the manager's cache should hold only those (see cmd/operator).
func ManagedConfigMaps() map[string]string {
	return map[string]string{ManagedByLabel: ManagedByValue}
}

func namespaceOf(_ context.Context, o client.Object) []reconcile.Request {
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: inject.ConfigMapName}}}
}

func isBundle(o client.Object) bool {
	return o.GetName() == inject.ConfigMapName && o.GetLabels()[ManagedByLabel] == ManagedByValue
}

// podChanged passes pod events that can change which policy applies to
// which pod, or whether it opted in to the sidecar: creation, deletion, the
// start of deletion, and label or annotation changes.
func podChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			if e.ObjectOld == nil || e.ObjectNew == nil {
				return true
			}
			if (e.ObjectOld.GetDeletionTimestamp() == nil) != (e.ObjectNew.GetDeletionTimestamp() == nil) {
				return true
			}
			return !labelsEqual(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels()) ||
				!labelsEqual(e.ObjectOld.GetAnnotations(), e.ObjectNew.GetAnnotations())
		},
	}
}

func labelsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
