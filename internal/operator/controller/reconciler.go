package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

const (
	// ManagedByLabel and ManagedByValue mark the ConfigMaps the operator
	// owns; its cache only holds ConfigMaps with this label.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "tollgate-operator"
	// BundleHashAnnotation holds a hash of the bundle, so a change is
	// visible without reading it.
	BundleHashAnnotation = "tollgate.dev/bundle-hash"
)

// LedgerCARecheck is how often a namespace is reconciled again while the
// ledger's CA file is not there yet, to publish it once it is.
var LedgerCARecheck = 30 * time.Second

// ConflictRetry is how soon a reconcile whose write met an update conflict
// runs again: long enough for the cache to see the newer object.
var ConflictRetry = 200 * time.Millisecond

// Reconciler renders each namespace's LLMPolicies into its bundle
// ConfigMap and writes their status.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// SecretNamespaces are the namespaces whose Secrets the cache watches
	// (CacheByObject's argument); empty: every namespace. The credentials
	// of a policy elsewhere are not checked.
	SecretNamespaces []string
	// Recorder emits Events on policies.
	Recorder events.EventRecorder
	// LedgerCA, when set, returns the CA certificate (PEM) sidecars trust
	// the budget ledger's certificate with; it is published in every
	// bundle ConfigMap under inject.LedgerCAKey. Nil without a ledger.
	LedgerCA func() []byte

	mu sync.Mutex // guards uninjected
	// uninjected is the last count of uninjected pods per namespace, so a
	// change is logged once rather than on every reconcile.
	uninjected map[string]int
}

// Reconcile brings the namespace req.Namespace to its desired state, and
// tells what went wrong from what did not: an update conflict (the object
// changed since the cache showed it, often by this operator's own last
// status write) is how optimistic concurrency works, so the namespace is
// reconciled again on a fresh copy, quietly; a reconcile cut short by the
// operator's shutdown is redone by the next start, which reconciles every
// namespace. Either is logged at debug level, not as a reconcile error.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	res, err := r.reconcile(ctx, req.Namespace)
	// controller-runtime's logger already names the request (namespace,
	// name): lines add what it does not say.
	log := ctrl.LoggerFrom(ctx)
	switch {
	case err == nil:
		reconcileTotal.WithLabelValues("success").Inc()
		return res, nil
	case apierrors.IsConflict(err):
		reconcileTotal.WithLabelValues("conflict").Inc()
		log.V(1).Info("write conflicted with a newer version; reconciling again", "reason", err.Error())
		return ctrl.Result{RequeueAfter: ConflictRetry}, nil
	case ctx.Err() != nil:
		log.V(1).Info("reconcile stopped by shutdown", "reason", err.Error())
		return ctrl.Result{}, nil
	}
	reconcileTotal.WithLabelValues("error").Inc()
	return ctrl.Result{}, err
}

func (r *Reconciler) reconcile(ctx context.Context, ns string) (ctrl.Result, error) {
	var policies v1alpha1.LLMPolicyList
	if err := r.Client.List(ctx, &policies, client.InNamespace(ns)); err != nil {
		return ctrl.Result{}, fmt.Errorf("list LLMPolicies in %s: %w", ns, err)
	}
	live := policies.Items[:0]
	for _, p := range policies.Items {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	podMeta, err := r.pods(ctx, ns)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.checkUninjected(ctx, ns, podMeta); err != nil {
		return ctrl.Result{}, err
	}
	if len(live) == 0 {
		return ctrl.Result{}, r.deleteBundle(ctx, ns)
	}

	pl := makePlan(ns, live, podLabelsOf(podMeta))
	hash, err := r.applyBundle(ctx, ns, pl.Bundle, live)
	var tooLarge *bundleTooLargeError
	switch {
	case errors.As(err, &tooLarge):
		// Nothing to retry until a policy changes (which is watched): say
		// so on each policy instead.
		pl.TooLarge = tooLarge
		ctrl.LoggerFrom(ctx).Info("bundle not written: too large for a ConfigMap", "bytes", tooLarge.size, "policies", len(pl.Bundle.Policies))
	case err != nil:
		return ctrl.Result{}, err
	}
	ctrl.LoggerFrom(ctx).V(1).Info("bundle rendered", "policies", len(pl.Bundle.Policies), "hash", hash)

	// A missing credentials Secret needs no requeue: its creation is
	// watched (SetupWithManager).
	for i := range live {
		if err := r.writeStatus(ctx, &live[i], pl, hash); err != nil {
			return ctrl.Result{}, err
		}
	}
	if r.LedgerCA != nil && len(r.LedgerCA()) == 0 {
		// The certificate is not issued yet: publish its CA once it is.
		return ctrl.Result{RequeueAfter: LedgerCARecheck}, nil
	}
	return ctrl.Result{}, nil
}

// pods lists the namespace's pods (metadata only: the cache holds no pod
// specs) that are not being deleted.
func (r *Reconciler) pods(ctx context.Context, ns string) ([]metav1.PartialObjectMetadata, error) {
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
	if err := r.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("list pods in %s: %w", ns, err)
	}
	out := list.Items[:0]
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

func podLabelsOf(pods []metav1.PartialObjectMetadata) []podLabels {
	out := make([]podLabels, 0, len(pods))
	for _, p := range pods {
		out = append(out, podLabels{Name: p.Name, Labels: p.Labels})
	}
	return out
}

// applyBundle creates or updates the bundle ConfigMap and returns the
// bundle's hash. Every policy of the namespace owns the ConfigMap, so the
// garbage collector removes it with the last of them even if the operator
// is not running.
func (r *Reconciler) applyBundle(ctx context.Context, ns string, b proxyconfig.Bundle, owners []v1alpha1.LLMPolicy) (string, error) {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode bundle of %s: %w", ns, err)
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])[:16]
	var ca []byte
	if r.LedgerCA != nil {
		ca = r.LedgerCA()
	}
	if size := len(inject.BundleKey) + len(data) + len(inject.LedgerCAKey) + len(ca); size > maxConfigMapBytes {
		return "", &bundleTooLargeError{size: size, policies: len(b.Policies)}
	}

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: inject.ConfigMapName, Namespace: ns}}
	op, err := controllerutil.CreateOrUpdate(ctx, r.Client, cm, func() error {
		if cm.Labels == nil {
			cm.Labels = map[string]string{}
		}
		cm.Labels[ManagedByLabel] = ManagedByValue
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		cm.Annotations[BundleHashAnnotation] = hash
		cm.Data = map[string]string{inject.BundleKey: string(data)}
		if len(ca) > 0 {
			cm.Data[inject.LedgerCAKey] = string(ca)
		}
		cm.OwnerReferences = nil
		for i := range owners {
			cm.OwnerReferences = append(cm.OwnerReferences, metav1.OwnerReference{
				APIVersion: v1alpha1.GroupVersion.String(),
				Kind:       "LLMPolicy",
				Name:       owners[i].Name,
				UID:        owners[i].UID,
			})
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("write ConfigMap %s/%s: %w", ns, inject.ConfigMapName, err)
	}
	if op != controllerutil.OperationResultNone {
		ctrl.LoggerFrom(ctx).Info("bundle written", "configMap", inject.ConfigMapName, "operation", op, "hash", hash, "policies", len(b.Policies))
	}
	return hash, nil
}

// maxConfigMapBytes is what the API server lets a ConfigMap's data hold,
// keys and values together (1 MiB, as for a Secret).
const maxConfigMapBytes = corev1.MaxSecretSize

// bundleTooLargeError is a bundle the API server would refuse to store.
type bundleTooLargeError struct{ size, policies int }

func (e *bundleTooLargeError) Error() string {
	return fmt.Sprintf("the %d valid LLMPolicies of this namespace render to a bundle of %d KiB, over the 1 MiB a ConfigMap holds; "+
		"the sidecars keep enforcing the last bundle written. Shrink them (fewer providers, model allow-lists or pricing entries, "+
		"shorter static responses) or move some to another namespace", e.policies, e.size/1024)
}

// deleteBundle removes the namespace's bundle ConfigMap, if the operator
// made it.
func (r *Reconciler) deleteBundle(ctx context.Context, ns string) error {
	var cm corev1.ConfigMap
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: inject.ConfigMapName}, &cm)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read ConfigMap %s/%s: %w", ns, inject.ConfigMapName, err)
	}
	if cm.Labels[ManagedByLabel] != ManagedByValue {
		return nil
	}
	if err := r.Client.Delete(ctx, &cm); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete ConfigMap %s/%s: %w", ns, inject.ConfigMapName, err)
	}
	ctrl.LoggerFrom(ctx).Info("bundle deleted: no LLMPolicy left", "configMap", inject.ConfigMapName)
	return nil
}
