package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"tollgate.dev/tollgate/api/v1alpha1"
)

// credentials is what the operator can tell of a policy's credentials
// Secrets, one phrase per Secret key referenced.
//
// The operator watches Secrets' metadata only and never reads their data,
// so it can tell that a Secret exists but not which keys it holds. The key
// is checked by the kubelet: the sidecar's credentials volume projects each
// key by name and is not optional (inject.credentialSources), so a missing
// key keeps the pod from starting, with a FailedMount event naming the key.
type credentials struct {
	// missing: Secrets that do not exist. The policy is not Ready.
	missing []string
	// present: Secrets that exist; their keys are the kubelet's to check.
	present []string
	// unchecked: Secrets in a namespace whose Secrets are not watched.
	unchecked []string
}

// checkCredentials looks up every Secret the policy's providers reference
// in the manager's metadata-only cache.
func (r *Reconciler) checkCredentials(ctx context.Context, p *v1alpha1.LLMPolicy) (credentials, error) {
	var c credentials
	watched := len(r.SecretNamespaces) == 0 || slices.Contains(r.SecretNamespaces, p.Namespace)
	seen := map[v1alpha1.SecretKeyRef]bool{}
	for _, prov := range p.Spec.Providers {
		ref := prov.CredentialsSecretRef
		if ref == nil || seen[*ref] {
			continue
		}
		seen[*ref] = true
		if !watched {
			c.unchecked = append(c.unchecked, fmt.Sprintf("Secret %s (key %q)", ref.Name, ref.Key))
			continue
		}
		var s metav1.PartialObjectMetadata
		s.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		err := r.Client.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: ref.Name}, &s)
		switch {
		case apierrors.IsNotFound(err):
			c.missing = append(c.missing, fmt.Sprintf("Secret %s (spec.providers[%s].credentialsSecretRef) does not exist: create it with key %q", ref.Name, prov.Name, ref.Key))
		case err != nil:
			return credentials{}, fmt.Errorf("look up Secret %s/%s for provider %s: %w", p.Namespace, ref.Name, prov.Name, err)
		default:
			c.present = append(c.present, fmt.Sprintf("Secret %s exists (key %q)", ref.Name, ref.Key))
		}
	}
	return c, nil
}

// notReady is the Ready message of a policy whose Secrets are missing.
func (c credentials) notReady() string {
	return strings.Join(c.missing, "; ")
}

// ready is what a Ready message adds about the credentials: which Secrets
// exist, and who checks their keys.
func (c credentials) ready(secretNamespaces []string) string {
	var parts []string
	if len(c.present) > 0 {
		parts = append(parts, "credentials: "+strings.Join(c.present, ", ")+
			"; the kubelet checks the keys when it starts a pod's sidecar (the operator sees only Secrets' metadata)")
	}
	if len(c.unchecked) > 0 {
		parts = append(parts, strings.Join(c.unchecked, ", ")+" not checked: the operator watches Secrets only in namespace(s) "+
			strings.Join(secretNamespaces, ", ")+" (--secret-namespaces); the kubelet checks them when it starts a pod's sidecar")
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, "; ")
}
