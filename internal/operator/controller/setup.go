package controller

import (
	"context"
	"fmt"
	"slices"

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

// credentialsSecretIndex indexes LLMPolicies by the names of the
// credentials Secrets their providers reference, so that a Secret event
// finds the policies naming it without reading every policy.
const credentialsSecretIndex = "spec.providers.credentialsSecretRef.name"

// SetupWithManager registers the reconciler. Every watched object enqueues
// its namespace (as the request {namespace, inject.ConfigMapName}):
//   - LLMPolicies, on create, delete and spec changes (status writes do not
//     change the generation, so the reconciler's own writes do not loop);
//   - Pods, metadata only, on create, delete, label and annotation changes;
//   - the operator's ConfigMaps, so an edited or deleted bundle is repaired;
//   - Secrets, metadata only, on create and delete, when a policy of their
//     namespace names them: a policy turns Ready as soon as its Secret is
//     created. The manager's cache must be set up with CacheByObject.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.LLMPolicy{}, credentialsSecretIndex, credentialsSecretNames); err != nil {
		return fmt.Errorf("index LLMPolicies by credentials Secret: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named(ControllerName).
		Watches(&v1alpha1.LLMPolicy{}, handler.EnqueueRequestsFromMapFunc(namespaceOf),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesMetadata(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(namespaceOf),
			builder.WithPredicates(podChanged())).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(namespaceOf),
			builder.WithPredicates(predicate.NewPredicateFuncs(isBundle))).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.namespaceNaming),
			builder.WithPredicates(existenceChanged())).
		Complete(r)
}

// credentialsSecretNames are the Secrets a policy's providers reference.
func credentialsSecretNames(o client.Object) []string {
	p, ok := o.(*v1alpha1.LLMPolicy)
	if !ok {
		return nil
	}
	var names []string
	for _, prov := range p.Spec.Providers {
		if ref := prov.CredentialsSecretRef; ref != nil && !slices.Contains(names, ref.Name) {
			names = append(names, ref.Name)
		}
	}
	return names
}

// namespaceNaming enqueues a Secret's namespace when one of its policies
// names the Secret; other Secrets (most of a cluster's) cost one indexed
// lookup in the cache.
func (r *Reconciler) namespaceNaming(ctx context.Context, s client.Object) []reconcile.Request {
	var list v1alpha1.LLMPolicyList
	if err := r.Client.List(ctx, &list, client.InNamespace(s.GetNamespace()), client.MatchingFields{credentialsSecretIndex: s.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "cannot find the LLMPolicies naming a Secret", "namespace", s.GetNamespace(), "secret", s.GetName())
		return nil
	}
	if len(list.Items) == 0 {
		return nil
	}
	return namespaceOf(ctx, s)
}

// existenceChanged passes Secret creations and deletions. Updates are of no
// use: the reconciler checks existence only, and a data change cannot be
// seen in metadata anyway.
func existenceChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// ManagedConfigMaps is the label selector of the ConfigMaps the operator
// owns; the manager's cache holds only those (see CacheByObject).
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
