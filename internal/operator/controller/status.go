package controller

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/operator/inject"
)

// Event actions (events.k8s.io "action": what the operator was doing).
const (
	actionRender          = "Render"
	actionCheckCredential = "CheckCredentials"
)

// writeStatus sets the policy's conditions, matched pods and observed
// generation from the plan, and emits a Warning Event when a problem the
// user can act on appears. It writes only when something changed. It
// reports whether a credentials Secret is missing: the operator does not
// watch Secrets, so it looks again later.
func (r *Reconciler) writeStatus(ctx context.Context, p *v1alpha1.LLMPolicy, pl plan, hash string) (bool, error) {
	v := pl.Policies[p.Name]
	before := p.Status.DeepCopy()
	st := &p.Status
	st.ObservedGeneration = p.Generation
	st.MatchedPods = v.MatchedPods

	var missing []string
	ready := metav1.Condition{Type: v1alpha1.ConditionReady, ObservedGeneration: p.Generation}
	switch {
	case v.Invalid != nil:
		ready.Status, ready.Reason = metav1.ConditionFalse, v1alpha1.ReasonInvalid
		ready.Message = fmt.Sprintf("not rendered: %v; fix the spec and re-apply", v.Invalid)
	default:
		var err error
		missing, err = r.missingCredentials(ctx, p)
		if err != nil {
			return false, err
		}
		if len(missing) > 0 {
			ready.Status, ready.Reason = metav1.ConditionFalse, v1alpha1.ReasonCredentialsNotFound
			ready.Message = fmt.Sprintf("rendered into ConfigMap %s, but %s; pods using this policy cannot start their sidecar until it exists", inject.ConfigMapName, strings.Join(missing, "; "))
		} else {
			ready.Status, ready.Reason = metav1.ConditionTrue, v1alpha1.ReasonRendered
			ready.Message = fmt.Sprintf("rendered into ConfigMap %s (bundle %s); applies to %d pod(s)", inject.ConfigMapName, hash, v.MatchedPods)
		}
	}

	conflict := metav1.Condition{Type: v1alpha1.ConditionConflict, ObservedGeneration: p.Generation,
		Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonNoOverlap, Message: "no pod is also selected by an older policy"}
	if len(v.Overlaps) > 0 {
		conflict.Status, conflict.Reason, conflict.Message = metav1.ConditionTrue, v1alpha1.ReasonOverlap, v.conflictMessage()
	}

	oldReady := meta.FindStatusCondition(before.Conditions, v1alpha1.ConditionReady)
	oldConflict := meta.FindStatusCondition(before.Conditions, v1alpha1.ConditionConflict)
	meta.SetStatusCondition(&st.Conditions, ready)
	meta.SetStatusCondition(&st.Conditions, conflict)

	if equality.Semantic.DeepEqual(before, st) {
		return len(missing) > 0, nil
	}
	if err := r.Client.Status().Update(ctx, p); err != nil {
		return false, fmt.Errorf("update status of LLMPolicy %s/%s: %w", p.Namespace, p.Name, err)
	}

	// Events mark transitions into a problem, not every reconcile of one.
	if ready.Status == metav1.ConditionFalse && (oldReady == nil || oldReady.Reason != ready.Reason || oldReady.Message != ready.Message) {
		action := actionRender
		if ready.Reason == v1alpha1.ReasonCredentialsNotFound {
			action = actionCheckCredential
		}
		r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, ready.Reason, action, "%s", ready.Message)
	}
	if conflict.Status == metav1.ConditionTrue && (oldConflict == nil || oldConflict.Message != conflict.Message) {
		r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, v1alpha1.ReasonOverlap, actionRender, "%s", conflict.Message)
	}
	return len(missing) > 0, nil
}

// missingCredentials checks that every credentials Secret key the policy
// names exists, and describes each that does not.
func (r *Reconciler) missingCredentials(ctx context.Context, p *v1alpha1.LLMPolicy) ([]string, error) {
	var missing []string
	for _, prov := range p.Spec.Providers {
		ref := prov.CredentialsSecretRef
		if ref == nil {
			continue
		}
		var s corev1.Secret
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: ref.Name}, &s)
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, fmt.Sprintf("Secret %s (spec.providers[%s].credentialsSecretRef) does not exist: create it with key %q", ref.Name, prov.Name, ref.Key))
		case err != nil:
			return nil, fmt.Errorf("read Secret %s/%s for provider %s: %w", p.Namespace, ref.Name, prov.Name, err)
		default:
			if _, ok := s.Data[ref.Key]; !ok {
				keys := make([]string, 0, len(s.Data))
				for k := range s.Data {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				missing = append(missing, fmt.Sprintf("Secret %s has no key %q (spec.providers[%s].credentialsSecretRef.key); it has: %s", ref.Name, ref.Key, prov.Name, strings.Join(keys, ", ")))
			}
		}
	}
	return missing, nil
}
