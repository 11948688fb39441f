// Package webhook is the operator's pod admission webhook: it decides
// whether a pod gets the Tollgate sidecar, finds the LLMPolicy that selects
// it, and answers with the patch internal/operator/inject computes. It never blocks
// a pod: whatever fails, the pod is admitted unchanged, the failure logged
// and counted.
package webhook

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	v1alpha1 "tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/translate"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Path is the HTTPS path the webhook is served on.
const Path = "/mutate-v1-pod"

// Injector is the admission handler that injects the sidecar into pods.
type Injector struct {
	reader  client.Reader
	cfg     inject.Config
	log     logr.Logger
	decoder admission.Decoder
}

var _ admission.Handler = (*Injector)(nil)

// NewInjector returns the handler. reader reads Namespaces and LLMPolicies
// (its scheme must know Tollgate's types); cfg is how the sidecar is
// injected (check it with cfg.Validate first: with a bad cfg every pod is
// admitted unchanged, counted as an error).
func NewInjector(reader client.Reader, cfg inject.Config, log logr.Logger) *Injector {
	scheme := k8sruntime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme) // registers built-in types; cannot fail
	return &Injector{reader: reader, cfg: cfg, log: log, decoder: admission.NewDecoder(scheme)}
}

// Handle answers the admission of one pod.
func (i *Injector) Handle(ctx context.Context, req admission.Request) admission.Response {
	pod := &corev1.Pod{}
	if err := i.decoder.Decode(req, pod); err != nil {
		return i.fail(i.log.WithValues("namespace", req.Namespace), fmt.Errorf("decode the pod: %w", err))
	}
	namespace := pod.Namespace
	if namespace == "" {
		namespace = req.Namespace // not set yet on pods created through a namespaced URL
	}
	log := i.log.WithValues("namespace", namespace, "pod", podName(pod))

	var ns corev1.Namespace
	if err := i.reader.Get(ctx, client.ObjectKey{Name: namespace}, &ns); err != nil {
		return i.fail(log, fmt.Errorf("read namespace %s: %w", namespace, err))
	}
	if wanted, reason := inject.Wanted(pod, ns.Labels); !wanted {
		return i.skip(log, ResultSkippedNotWanted, reason)
	}
	if inject.Injected(pod) {
		return i.skip(log, ResultSkippedAlreadyInjected, "the pod already has the sidecar")
	}

	policy, err := i.policyFor(ctx, namespace, pod.Labels)
	if err != nil {
		return i.fail(log, err)
	}
	out, err := inject.Inject(pod, policy, i.cfg)
	if err != nil {
		return i.fail(log, err)
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return i.fail(log, fmt.Errorf("encode the injected pod: %w", err))
	}
	admissions.WithLabelValues(string(ResultInjected)).Inc()
	policyRef := ""
	if policy != nil {
		policyRef = policy.Ref()
	}
	log.Info("sidecar injected", "policy", policyRef)
	return admission.PatchResponseFromRaw(req.Object.Raw, raw)
}

// policyFor returns the policy that selects a pod with labels, chosen from
// the bundle the reconciler renders (translate.Bundle: invalid policies
// left out, oldest first, then by name) as the sidecar chooses, or nil when
// none does. An invalid policy is the reconciler's to report, in its status.
func (i *Injector) policyFor(ctx context.Context, namespace string, labels map[string]string) (*proxyconfig.Policy, error) {
	var list v1alpha1.LLMPolicyList
	if err := i.reader.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("list the LLMPolicies of namespace %s: %w", namespace, err)
	}
	bundle, _ := translate.Bundle(namespace, list.Items)
	return bundle.Select(labels), nil
}

func (i *Injector) skip(log logr.Logger, result Result, reason string) admission.Response {
	admissions.WithLabelValues(string(result)).Inc()
	log.V(1).Info("sidecar not injected", "result", result, "reason", reason)
	return admission.Allowed(reason)
}

// fail admits the pod unchanged: a pod without the sidecar is better than
// no pod, and the error is in the log and the metric.
func (i *Injector) fail(log logr.Logger, err error) admission.Response {
	admissions.WithLabelValues(string(ResultError)).Inc()
	log.Error(err, "sidecar not injected; the pod is admitted unchanged")
	msg := "tollgate: the sidecar was not injected: " + err.Error()
	return admission.Allowed(msg).WithWarnings(msg)
}

// podName names a pod in logs: pods created by controllers have only a
// generateName at admission.
func podName(pod *corev1.Pod) string {
	if pod.Name != "" {
		return pod.Name
	}
	return pod.GenerateName + "*"
}
