// Package ledgerapi is the wire protocol of the budget ledger: how a
// sidecar reports the spend of its pod to the operator and draws an
// allowance of its policy's budget. It is plain data (JSON over HTTPS), so
// both binaries share one definition; it imports nothing of Kubernetes.
//
// One exchange, POST SyncPath, carries at most one batch of settled spend
// and answers with the pod's allowance. A sidecar has at most one batch
// unacknowledged: it resends that same batch until the ledger acknowledges
// it, and spend settled meanwhile waits in the next batch. The ledger
// applies a batch once per pod and sequence number, and answers only once
// what it answers is durable (written to the policy's status), so an
// acknowledgement is never lost to a ledger crash, and an allowance handed
// out is never handed out again by the next leader.
//
// A sidecar whose policy is in DryRun mode adds its counts of what the
// policy would have done (SyncRequest.DryRun) to its syncs; under a
// policy without a budget it syncs for them alone, when they change. The
// counts are the sidecar process's totals for the period, not increments:
// the ledger keeps each pod's latest, so a report sent twice counts once,
// and one that is lost is made up by the next. A ledger that predates
// DryRun refuses the field (its decoding is strict), so the field is sent
// only under DryRun policies, which such a ledger does not know either.
//
// The caller is authenticated by its pod's projected ServiceAccount token
// (audience Audience) in the Authorization header; the ledger takes the
// pod's namespace, name and UID from the token, never from the body.
package ledgerapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Paths and the token audience of the ledger.
const (
	// SyncPath takes a SyncRequest and answers a SyncReply.
	SyncPath = "/ledger/v1/sync"
	// BundlePath answers the namespace's current bundle (BundleReply). With
	// ?known=<hash> it waits until the bundle differs from that hash, or
	// BundleWait passes, so a sidecar learns of a policy edit at once.
	BundlePath = "/ledger/v1/bundle"
	// Audience is the audience of the token a sidecar presents.
	Audience = "tollgate"
	// MaxRequestBytes bounds a request body; the ledger refuses larger ones.
	MaxRequestBytes = 64 << 10
	// BundleWait is how long a bundle request with ?known= waits at most.
	BundleWait = 25 * time.Second
)

// SyncRequest is what a sidecar sends.
type SyncRequest struct {
	// PodUID is the sidecar's pod; it must be the pod of the token.
	PodUID string `json:"podUID"`
	// Epoch identifies the sidecar's saved state. A sidecar that starts
	// without its state (it was lost) picks a new epoch and numbers its
	// batches from 1 again.
	Epoch string `json:"epoch"`
	// Policy is the name of the LLMPolicy, in the pod's namespace, whose
	// budget the sidecar enforces and whose allowance it draws. The policy
	// must select the pod.
	Policy string `json:"policy"`
	// Batch is the one unacknowledged batch of settled spend, if any.
	Batch *Batch `json:"batch,omitempty"`
	// Need is the allowance the sidecar is short of for a request that is
	// waiting; zero when none waits.
	Need Amount `json:"need"`
	// DryRun is the sidecar's dry-run counts, when the policy is in DryRun
	// mode.
	DryRun *DryRunReport `json:"dryRun,omitempty"`
}

// DryRunReport is what a sidecar's policy, in DryRun mode, would have done
// in the current period: the requests it let through that Enforce would
// have refused or downgraded, by action.
type DryRunReport struct {
	// Epoch identifies the sidecar process the counts are of; a sidecar
	// that restarts counts from zero under a new one.
	Epoch string `json:"epoch"`
	// PeriodStart is the start (UTC) of the period the counts are of: the
	// budget's period, or the day when the policy has no budget.
	PeriodStart time.Time `json:"periodStart"`
	// Decisions are the counts of the period so far, by action (the values
	// of proxyconfig.DryRunActions); an action that did not occur may be
	// left out.
	Decisions map[string]int64 `json:"decisions"`
}

// Batch is spend a sidecar settled, in the order of its sequence numbers.
type Batch struct {
	// Seq numbers the pod's batches 1, 2, 3, ...; the ledger applies each
	// once and in order.
	Seq uint64 `json:"seq"`
	// Periods holds the batch's spend by budget period: requests settle
	// into the period they were admitted in.
	Periods []PeriodSpend `json:"periods"`
}

// PeriodSpend is the spend of one budget period in a batch.
type PeriodSpend struct {
	// Start is the start of the period (UTC) the spend belongs to.
	Start time.Time `json:"start"`
	// Spent is the USD the pod's settled requests cost.
	Spent Amount `json:"spent"`
	// Requests counts those requests.
	Requests int64 `json:"requests"`
	// Unverified is the part of Spent admitted without an allowance, while
	// the ledger could not be reached and the policy allowed it.
	Unverified Amount `json:"unverified"`
	// Released is allowance the sidecar gives back unspent.
	Released Amount `json:"released"`
}

// SyncReply is the ledger's answer.
type SyncReply struct {
	// Acked is the highest batch sequence number applied, durably.
	Acked uint64 `json:"acked"`
	// PeriodStart and PeriodEnd bound the current budget period.
	PeriodStart time.Time `json:"periodStart"`
	PeriodEnd   time.Time `json:"periodEnd"`
	// Allowance is what the pod may still spend in the current period: the
	// allowance granted to it minus everything it reported in acknowledged
	// batches. The sidecar subtracts what it spent since.
	Allowance Amount `json:"allowance"`
	// Target is the allowance the ledger would have the pod hold at most;
	// the sidecar releases what it holds unspent above it.
	Target Amount `json:"target"`
	// LeaseSeconds is how long the allowance stays the pod's without a
	// sync. The ledger gives the allowance of a pod that is gone back to
	// the pool once its lease ended.
	LeaseSeconds int64 `json:"leaseSeconds"`
	// SyncSeconds is how soon the sidecar should sync again at the latest.
	SyncSeconds int64 `json:"syncSeconds"`
	// CommitMillis is how often the ledger writes the policy's status at
	// most, in milliseconds: how long a sync may wait for its answer,
	// unless a request waits on it (Need), which the ledger answers
	// sooner. Zero from a ledger that does not say.
	CommitMillis int64 `json:"commitMillis,omitempty"`
	// State is Ok, SoftLimit or Exhausted (the policy's budget status).
	State string `json:"state"`
	// Spent and Limit are the policy's spend this period and its limit.
	Spent Amount `json:"spent"`
	Limit Amount `json:"limit"`
	// BundleHash is the hash of the namespace's current bundle; when it
	// differs from the sidecar's, the sidecar fetches BundlePath.
	BundleHash string `json:"bundleHash,omitempty"`
}

// BundleReply is the namespace's bundle, as the reconciler rendered it.
type BundleReply struct {
	// Hash identifies the bundle's content.
	Hash string `json:"hash"`
	// Bundle is the bundle's JSON (proxyconfig.Bundle).
	Bundle json.RawMessage `json:"bundle"`
}

// Error is the body of every refusal.
type Error struct {
	// Code is stable (one of the Code constants).
	Code string `json:"code"`
	// Message says what was wrong and what to do.
	Message string `json:"message"`
}

// Codes of the ledger's refusals.
const (
	CodeUnauthenticated = "unauthenticated" // 401: no, a bad, an expired or another audience's token
	CodeForbidden       = "forbidden"       // 403: the policy does not select the pod, or the pod is not the token's
	CodeUnknownPolicy   = "unknown_policy"  // 404: no such policy in the pod's namespace
	CodeNoBudget        = "no_budget"       // 409: the policy has no budget (and is not in DryRun mode, or the sync has no dryRun)
	CodeBadRequest      = "bad_request"     // 400: the body is not a valid SyncRequest
	CodeTooLarge        = "too_large"       // 413: the body is over MaxRequestBytes
	CodeOutOfOrder      = "out_of_order"    // 409: a batch that skips sequence numbers
	CodeNotLeader       = "not_leader"      // 503: this replica is not the leader; try another
	CodeUnavailable     = "unavailable"     // 503: the ledger could not make the answer durable yet; retry
	CodeFull            = "full"            // 503: the policy has as many reporting pods as its status can list; retry once some are gone
)

// Amount is an exact USD amount on the wire: a plain non-negative decimal
// string with at most AmountPlaces decimals. It is wider than what people
// write in a policy (proxyconfig.ParseUSD), because costs computed from
// prices per million tokens have up to 12 decimals.
type Amount struct{ proxyconfig.USD }

// AmountPlaces is how many decimals an Amount may have.
const AmountPlaces = 12

// maxAmountIntDigits bounds an Amount's digits before the point.
const maxAmountIntDigits = 15

// ErrBadAmount is wrapped by the errors of amounts that do not parse.
var ErrBadAmount = errors.New(`not a USD amount: write a non-negative decimal string such as "0.0125"`)

// NewAmount returns u as an Amount. u must not be negative.
func NewAmount(u proxyconfig.USD) Amount { return Amount{u} }

// ParseAmount parses an Amount.
func ParseAmount(s string) (Amount, error) {
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if !allDigits(intPart, 1, maxAmountIntDigits) || (hasPoint && !allDigits(frac, 1, AmountPlaces)) {
		return Amount{}, fmt.Errorf("%q is %w", s, ErrBadAmount)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return Amount{}, fmt.Errorf("%q is %w", s, ErrBadAmount)
	}
	return Amount{proxyconfig.USDFromDecimal(d)}, nil
}

func allDigits(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MarshalJSON encodes a as a decimal string.
func (a Amount) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// UnmarshalJSON decodes a decimal string; an absent amount is zero.
func (a *Amount) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a USD amount must be a decimal string such as \"0.0125\": %w", err)
	}
	v, err := ParseAmount(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}
