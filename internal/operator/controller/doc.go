// Package controller holds the operator's reconciler: it renders the
// LLMPolicies of each namespace into the ConfigMap the namespace's sidecars
// read (inject.ConfigMapName), and reports on each policy in its status.
//
// The unit of work is a namespace, not a policy: which policy applies to a
// pod depends on every policy of its namespace (the oldest selecting it
// wins), and all of them share one bundle. Every event — a policy, a pod's
// labels, the rendered ConfigMap — enqueues its namespace; Reconcile reads
// the namespace, computes the desired bundle and statuses with the pure
// makePlan, and applies them. It is level-based and idempotent: writing
// what is already there is skipped, so its own writes never retrigger work.
package controller
