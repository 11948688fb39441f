package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/operator/controller"
	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/translate"
	"tollgate.dev/tollgate/pkg/ledgerapi"
)

// durableWait bounds how long a sync waits for its status write.
const durableWait = 15 * time.Second

// resultCanceled is the syncs metric's result of a sync the sidecar
// canceled.
const resultCanceled = "canceled"

// readOnly reads an object from the manager's cache without copying it,
// for the reads of every sync and bundle poll, which only look: a policy
// whose status lists a thousand reporters (and as many managedFields
// entries) costs 300 KB to copy, and a thousand bundle polls read the
// bundle ConfigMap ten times a second each. What is read this way must
// never be changed: it is the cache's own object.
const readOnly = client.UnsafeDisableDeepCopy

// Handler serves the ledger's HTTP API (pkg/ledgerapi).
func (l *Ledger) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ledgerapi.SyncPath, l.serveSync)
	mux.HandleFunc("GET "+ledgerapi.BundlePath, l.serveBundle)
	return mux
}

func (l *Ledger) serveSync(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reply, waited, err := l.sync(r)
	took := time.Since(start)
	syncSeconds.Observe(took.Seconds())
	syncProcessingSeconds.Observe((took - waited).Seconds())
	if err != nil && r.Context().Err() != nil {
		// The sidecar gave up on this sync (it stopped, or sent it again
		// with more): nothing is wrong, and what the batch held counts or
		// is sent again. It is answered all the same, since a handler that
		// writes nothing answers 200 with no body.
		syncs.WithLabelValues(resultCanceled).Inc()
		l.opts.Log.V(1).Info("ledger request canceled by the sidecar", "reason", err.Error())
		writeJSON(w, http.StatusServiceUnavailable, ledgerapi.Error{Code: ledgerapi.CodeUnavailable, Message: "the sync was canceled by its sender before its answer was durable; send the same batch again"})
		return
	}
	if err != nil {
		l.refuse(w, err)
		return
	}
	syncs.WithLabelValues("success").Inc()
	writeJSON(w, http.StatusOK, reply)
}

// sync authenticates, checks and applies one sync, and waits until the
// answer is durable. It returns how long it waited: for allowance to come
// free (a sync a request waits on) and for the status write.
func (l *Ledger) sync(r *http.Request) (ledgerapi.SyncReply, time.Duration, error) {
	caller, err := l.caller(r)
	if err != nil {
		return ledgerapi.SyncReply{}, 0, err
	}
	var req ledgerapi.SyncRequest
	if err := decode(r, &req); err != nil {
		return ledgerapi.SyncReply{}, 0, err
	}
	if req.PodUID != caller.PodUID {
		return ledgerapi.SyncReply{}, 0, refusal(http.StatusForbidden, ledgerapi.CodeForbidden,
			"podUID %q is not the pod of the token (%s/%s); a sidecar reports for its own pod only", req.PodUID, caller.Namespace, caller.Pod)
	}
	if req.Batch != nil {
		if err := checkBatch(req.Batch); err != nil {
			return ledgerapi.SyncReply{}, 0, err
		}
	}
	if req.DryRun != nil {
		if err := CheckDryRunReport(req.DryRun); err != nil {
			return ledgerapi.SyncReply{}, 0, refusal(http.StatusBadRequest, ledgerapi.CodeBadRequest, "%v", err)
		}
	}
	ctx := r.Context()
	policy, pod, err := l.authorize(ctx, caller, req)
	if err != nil {
		return ledgerapi.SyncReply{}, 0, err
	}
	e, err := l.entryFor(ctx, policy)
	if err != nil {
		return ledgerapi.SyncReply{}, 0, refusal(http.StatusServiceUnavailable, ledgerapi.CodeUnavailable, "%v", err)
	}
	id := Identity{PodUID: caller.PodUID, Pod: caller.Pod, Workload: WorkloadOf(pod)}
	now := l.opts.Now()
	urgent := req.Need.IsPositive() && e.book != nil // a request waits on this sync (e.book is fixed for e's life)
	if urgent {
		defer l.hurry(e)()
	}
	e.mu.Lock()
	if e.tally != nil && req.DryRun != nil {
		if err := e.tally.Report(id, req.DryRun, now); err != nil {
			e.mu.Unlock()
			return ledgerapi.SyncReply{}, 0, refusal(http.StatusServiceUnavailable, ledgerapi.CodeFull, "%v", err)
		}
	}
	if e.book == nil {
		// Dry-run counts alone: they are totals, so a report lost to a
		// ledger crash before the next commit is made up by the next one;
		// nothing waits for the write.
		reply := ledgerapi.SyncReply{PeriodStart: e.tally.PeriodStart(), PeriodEnd: e.tally.PeriodEnd(),
			LeaseSeconds: int64(l.opts.Lease / time.Second), SyncSeconds: int64(l.opts.Sync / time.Second), CommitMillis: l.opts.Commit.Milliseconds()}
		e.mu.Unlock()
		reply.BundleHash = l.bundleHash(ctx, caller.Namespace)
		return reply, 0, nil
	}
	reply, err := e.book.Sync(id, req, req.Epoch, now)
	version := e.book.Version()
	e.touch() // the batch may give allowance back
	changed := e.changed
	hurried := e.waiters > 0 // the reply may tell this pod to give back what another waits for
	e.mu.Unlock()
	var order ErrOutOfOrder
	if errors.As(err, &order) {
		return ledgerapi.SyncReply{}, 0, refusal(http.StatusConflict, ledgerapi.CodeOutOfOrder, "%v", err)
	}
	if errors.As(err, &ErrFull{}) {
		return ledgerapi.SyncReply{}, 0, refusal(http.StatusServiceUnavailable, ledgerapi.CodeFull, "%v", err)
	}
	if err != nil {
		return ledgerapi.SyncReply{}, 0, err
	}
	// What follows waits: for allowance to come free, for the status write.
	waitStart := time.Now()
	if urgent {
		reply, version = l.awaitAllowance(ctx, e, id.PodUID, changed, reply, version)
	}
	if urgent || hurried {
		l.wakeCommitter()
	}
	wait, cancel := context.WithTimeout(ctx, durableWait)
	defer cancel()
	err = e.waitDurable(wait, version, l.closed)
	waited := time.Since(waitStart)
	if err != nil {
		return ledgerapi.SyncReply{}, waited, refusal(http.StatusServiceUnavailable, ledgerapi.CodeUnavailable, "%v; send the same batch again", err)
	}
	e.mu.Lock()
	reply.Target = ledgerapi.NewAmount(e.book.TargetOf(id.PodUID, l.opts.Now()))
	e.mu.Unlock()
	reply.CommitMillis = l.opts.Commit.Milliseconds()
	reply.BundleHash = l.bundleHash(ctx, caller.Namespace)
	return reply, waited, nil
}

// checkBatch refuses a batch whose fields cannot be meant.
func checkBatch(b *ledgerapi.Batch) error {
	if b.Seq == 0 {
		return refusal(http.StatusBadRequest, ledgerapi.CodeBadRequest, "batch.seq must be 1 or more")
	}
	if len(b.Periods) > 4 {
		return refusal(http.StatusBadRequest, ledgerapi.CodeBadRequest, "batch.periods holds %d periods; a batch spans at most a few", len(b.Periods))
	}
	for i, p := range b.Periods {
		if p.Start.IsZero() {
			return refusal(http.StatusBadRequest, ledgerapi.CodeBadRequest, "batch.periods[%d].start is missing", i)
		}
		if p.Requests < 0 {
			return refusal(http.StatusBadRequest, ledgerapi.CodeBadRequest, "batch.periods[%d].requests is negative", i)
		}
		if p.Unverified.GreaterThan(p.Spent.USD) {
			return refusal(http.StatusBadRequest, ledgerapi.CodeBadRequest, "batch.periods[%d].unverified is more than its spent", i)
		}
	}
	return nil
}

// caller authenticates the request's bearer token.
func (l *Ledger) caller(r *http.Request) (Caller, error) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	c, err := l.authn.Authenticate(r.Context(), strings.TrimSpace(token))
	if errors.Is(err, errUnauthenticated) {
		return Caller{}, refusal(http.StatusUnauthorized, ledgerapi.CodeUnauthenticated, "%v", err)
	}
	if err != nil {
		return Caller{}, refusal(http.StatusServiceUnavailable, ledgerapi.CodeUnavailable, "%v", err)
	}
	return c, nil
}

// authorize checks that the policy exists in the caller's namespace, has a
// budget (or is in DryRun mode and the sync reports dry-run counts only),
// and selects the caller's pod, which must still be the token's.
func (l *Ledger) authorize(ctx context.Context, c Caller, req ledgerapi.SyncRequest) (*v1alpha1.LLMPolicy, *metav1.PartialObjectMetadata, error) {
	name := req.Policy
	if name == "" {
		return nil, nil, refusal(http.StatusBadRequest, ledgerapi.CodeBadRequest, "policy is required")
	}
	var p v1alpha1.LLMPolicy
	err := l.opts.Client.Get(ctx, types.NamespacedName{Namespace: c.Namespace, Name: name}, &p, readOnly)
	if apierrors.IsNotFound(err) {
		return nil, nil, refusal(http.StatusNotFound, ledgerapi.CodeUnknownPolicy, "no LLMPolicy %s in namespace %s (the pod's)", name, c.Namespace)
	}
	if err != nil {
		return nil, nil, refusal(http.StatusServiceUnavailable, ledgerapi.CodeUnavailable, "read LLMPolicy %s/%s: %v", c.Namespace, name, err)
	}
	if p.Spec.Budget == nil && (p.Spec.Mode != v1alpha1.ModeDryRun || req.DryRun == nil || req.Batch != nil) {
		return nil, nil, refusal(http.StatusConflict, ledgerapi.CodeNoBudget, "LLMPolicy %s/%s has no budget", c.Namespace, name)
	}
	pod, err := l.pod(ctx, c.Namespace, c.Pod)
	if err != nil || string(pod.UID) != c.PodUID {
		return nil, nil, refusal(http.StatusForbidden, ledgerapi.CodeForbidden, "pod %s/%s of the token does not exist (any more)", c.Namespace, c.Pod)
	}
	if !translate.Selector(p.Spec.PodSelector).Matches(pod.Labels) {
		return nil, nil, refusal(http.StatusForbidden, ledgerapi.CodeForbidden, "LLMPolicy %s/%s does not select pod %s; a sidecar reports and draws for the policy that selects its pod", c.Namespace, name, c.Pod)
	}
	return &p, pod, nil
}

// pod reads a pod's metadata from the manager's cache.
func (l *Ledger) pod(ctx context.Context, ns, name string) (*metav1.PartialObjectMetadata, error) {
	pod := &metav1.PartialObjectMetadata{}
	pod.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Pod"))
	if err := l.opts.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, pod, readOnly); err != nil {
		return nil, err
	}
	return pod, nil
}

// podAlive reports whether the pod named pod, of UID uid, still exists; on
// an error it says yes, so that an allowance is kept rather than handed out
// twice.
func (l *Ledger) podAlive(ctx context.Context, ns, uid, name string) bool {
	pod, err := l.pod(ctx, ns, name)
	if apierrors.IsNotFound(err) {
		return false
	}
	return err != nil || string(pod.UID) == uid
}

// WorkloadOf names a pod's workload for topSpenders: its controller,
// with a ReplicaSet read as the Deployment it belongs to (by the
// pod-template-hash suffix, without reading the ReplicaSet), else the pod.
func WorkloadOf(pod *metav1.PartialObjectMetadata) string {
	owner := metav1.GetControllerOfNoCopy(pod)
	if owner == nil {
		return "Pod/" + pod.Name
	}
	if owner.Kind == "ReplicaSet" {
		if hash := pod.Labels["pod-template-hash"]; hash != "" {
			if d, ok := strings.CutSuffix(owner.Name, "-"+hash); ok {
				return "Deployment/" + d
			}
		}
	}
	return owner.Kind + "/" + owner.Name
}

// bundleHash is the hash of the namespace's rendered bundle, or "".
func (l *Ledger) bundleHash(ctx context.Context, ns string) string {
	var cm corev1.ConfigMap
	if err := l.opts.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: inject.ConfigMapName}, &cm, readOnly); err != nil {
		return ""
	}
	return cm.Annotations[controller.BundleHashAnnotation]
}

// serveBundle answers the caller's namespace's bundle; with ?known=<hash>
// it waits until the bundle differs from it, up to ledgerapi.BundleWait.
func (l *Ledger) serveBundle(w http.ResponseWriter, r *http.Request) {
	caller, err := l.caller(r)
	if err != nil {
		l.refuse(w, err)
		return
	}
	known := r.URL.Query().Get("known")
	ctx, cancel := context.WithTimeout(r.Context(), ledgerapi.BundleWait)
	defer cancel()
	for {
		var cm corev1.ConfigMap
		err := l.opts.Client.Get(ctx, types.NamespacedName{Namespace: caller.Namespace, Name: inject.ConfigMapName}, &cm, readOnly)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			l.refuse(w, refusal(http.StatusServiceUnavailable, ledgerapi.CodeUnavailable, "read the bundle of %s: %v", caller.Namespace, err))
			return
		default:
			if hash := cm.Annotations[controller.BundleHashAnnotation]; hash != known || known == "" {
				writeJSON(w, http.StatusOK, ledgerapi.BundleReply{Hash: hash, Bundle: json.RawMessage(cm.Data[inject.BundleKey])})
				return
			}
		}
		select {
		case <-ctx.Done():
			w.WriteHeader(http.StatusNotModified)
			return
		case <-l.closed:
			l.refuse(w, refusal(http.StatusServiceUnavailable, ledgerapi.CodeNotLeader, "this replica stopped serving the ledger; ask the next leader"))
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// decode reads the body as v, strictly and bounded.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, ledgerapi.MaxRequestBytes+1))
	if err != nil {
		return refusal(http.StatusBadRequest, ledgerapi.CodeBadRequest, "read the body: %v", err)
	}
	if len(body) > ledgerapi.MaxRequestBytes {
		return refusal(http.StatusRequestEntityTooLarge, ledgerapi.CodeTooLarge, "the body is over %d bytes", ledgerapi.MaxRequestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return refusal(http.StatusBadRequest, ledgerapi.CodeBadRequest, "the body is not a sync request: %v", err)
	}
	if dec.More() {
		return refusal(http.StatusBadRequest, ledgerapi.CodeBadRequest, "the body holds more than one JSON value")
	}
	return nil
}

func (l *Ledger) refuse(w http.ResponseWriter, err error) {
	var bad *ErrBadSync
	if !errors.As(err, &bad) {
		bad = refusal(http.StatusInternalServerError, ledgerapi.CodeUnavailable, "%v", err)
	}
	syncs.WithLabelValues(bad.Code).Inc()
	if bad.Status >= 500 && !l.stopped() {
		l.opts.Log.Info("ledger request not served", "code", bad.Code, "reason", bad.Msg)
	} else {
		// A refusal of the request, or this replica's own shutdown: every
		// sync and bundle poll in flight is sent to the next leader.
		l.opts.Log.V(1).Info("ledger request refused", "code", bad.Code, "reason", bad.Msg)
	}
	writeJSON(w, bad.Status, ledgerapi.Error{Code: bad.Code, Message: bad.Msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // an error means the caller is gone
}
