package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
// user can act on appears. It writes only when something changed.
func (r *Reconciler) writeStatus(ctx context.Context, p *v1alpha1.LLMPolicy, pl plan, hash string) error {
	v := pl.Policies[p.Name]
	before := p.Status.DeepCopy()
	st := &p.Status
	st.ObservedGeneration = p.Generation
	st.MatchedPods = v.MatchedPods

	ready := metav1.Condition{Type: v1alpha1.ConditionReady, ObservedGeneration: p.Generation}
	switch {
	case v.Invalid != nil:
		ready.Status, ready.Reason = metav1.ConditionFalse, v1alpha1.ReasonInvalid
		ready.Message = fmt.Sprintf("not rendered: %v; fix the spec and re-apply", v.Invalid)
	case pl.TooLarge != nil:
		ready.Status, ready.Reason = metav1.ConditionFalse, v1alpha1.ReasonBundleTooLarge
		ready.Message = "not rendered: " + pl.TooLarge.Error()
	default:
		creds, err := r.checkCredentials(ctx, p)
		if err != nil {
			return err
		}
		if len(creds.missing) > 0 {
			ready.Status, ready.Reason = metav1.ConditionFalse, v1alpha1.ReasonCredentialsNotFound
			ready.Message = fmt.Sprintf("rendered into ConfigMap %s, but %s; pods using this policy cannot start their sidecar until it exists", inject.ConfigMapName, creds.notReady())
		} else {
			ready.Status, ready.Reason = metav1.ConditionTrue, v1alpha1.ReasonRendered
			ready.Message = fmt.Sprintf("rendered into ConfigMap %s (bundle %s); applies to %d pod(s)%s", inject.ConfigMapName, hash, v.MatchedPods, creds.ready(r.SecretNamespaces))
		}
	}

	conflict := metav1.Condition{Type: v1alpha1.ConditionConflict, ObservedGeneration: p.Generation,
		Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonNoOverlap, Message: "no pod is also selected by an older policy"}
	if len(v.Overlaps) > 0 {
		conflict.Status, conflict.Reason, conflict.Message = metav1.ConditionTrue, v1alpha1.ReasonOverlap, v.conflictMessage()
	}

	r.setDryRun(p)

	oldReady := meta.FindStatusCondition(before.Conditions, v1alpha1.ConditionReady)
	oldConflict := meta.FindStatusCondition(before.Conditions, v1alpha1.ConditionConflict)
	meta.SetStatusCondition(&st.Conditions, ready)
	meta.SetStatusCondition(&st.Conditions, conflict)

	if equality.Semantic.DeepEqual(before, st) {
		return nil
	}
	if err := r.Client.Status().Update(ctx, p); err != nil {
		return fmt.Errorf("update status of LLMPolicy %s/%s: %w", p.Namespace, p.Name, err)
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
	return nil
}

// setDryRun keeps the DryRun condition present exactly while the policy is
// in DryRun mode. The budget ledger writes its counts; until a sidecar
// reported, it says that none did. Back in Enforce mode, the condition and
// status.dryRun go.
func (r *Reconciler) setDryRun(p *v1alpha1.LLMPolicy) {
	st := &p.Status
	if p.Spec.Mode != v1alpha1.ModeDryRun {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionDryRun)
		st.DryRun = nil
		return
	}
	if meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionDryRun) != nil {
		return
	}
	msg := "DryRun: no sidecar has reported a request Enforce would have refused or downgraded yet; sidecars report through the budget ledger"
	if r.LedgerCA == nil {
		msg = "DryRun: this operator runs no budget ledger (--ledger-bind-address=0), so sidecars cannot report what Enforce would have done here; read tollgate_dryrun_decisions_total on each sidecar"
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionDryRun, Status: metav1.ConditionFalse,
		Reason: v1alpha1.ReasonNothingToDo, Message: msg, ObservedGeneration: p.Generation})
}
