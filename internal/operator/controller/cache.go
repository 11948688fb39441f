package controller

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheByObject is what the manager's cache may hold for the reconciler:
// only the ConfigMaps the operator renders, and Secrets as metadata only —
// in secretNamespaces, or every namespace when it is empty — stripped of
// what metadata can carry of their data (see stripSecret).
//
// The reconciler asks of a Secret only whether it exists, through
// PartialObjectMetadata (the watch in SetupWithManager), so the API server
// never sends the operator a Secret's data field.
func CacheByObject(secretNamespaces []string) map[client.Object]cache.ByObject {
	secrets := cache.ByObject{Transform: stripSecret}
	if len(secretNamespaces) > 0 {
		secrets.Namespaces = map[string]cache.Config{}
		for _, ns := range secretNamespaces {
			secrets.Namespaces[ns] = cache.Config{}
		}
	}
	return map[client.Object]cache.ByObject{
		&corev1.ConfigMap{}: {Label: labels.SelectorFromSet(ManagedConfigMaps())},
		&corev1.Secret{}:    secrets,
	}
}

// stripSecret is the cache's transform of Secrets. Metadata is not always
// free of a Secret's data: `kubectl apply` copies the whole manifest, data
// included, into the kubectl.kubernetes.io/last-applied-configuration
// annotation, and managedFields list the keys. So annotations and
// managedFields are dropped before a Secret is cached (the API server still
// sends them: no request can leave them out), and a full Secret, which the
// operator never asks for, would lose its data too.
func stripSecret(obj any) (any, error) {
	switch o := obj.(type) {
	case *metav1.PartialObjectMetadata:
		o.Annotations, o.ManagedFields = nil, nil
	case *corev1.Secret:
		o.Annotations, o.ManagedFields = nil, nil
		o.Data, o.StringData = nil, nil
	}
	return obj, nil
}
