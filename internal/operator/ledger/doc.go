// Package ledger is the operator's budget ledger: it sums the spend every
// sidecar of a policy reports, hands each an allowance of what remains, and
// persists the spend in LLMPolicy.status.budget. Only the leader serves it.
//
// The pieces: Book, the pure state of one policy's budget (which batches
// were applied, what each pod holds, the periods' totals); the committer,
// which writes books into status every few seconds and answers the syncs
// they hold once they are durable; the HTTPS server, which authenticates a
// sidecar by its pod's projected ServiceAccount token (TokenReview) and
// checks that the policy selects the pod. The wire protocol is
// pkg/ledgerapi.
package ledger
