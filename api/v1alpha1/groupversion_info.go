// Package v1alpha1 contains the tollgate.dev/v1alpha1 API: the LLMPolicy
// resource that declares timeouts, retries, circuit breaking, rate limits,
// budgets, fallbacks and caching for the LLM traffic of the pods it selects.
//
// The same schema is read by the sidecar in standalone mode, so this package
// imports nothing else of Tollgate's.
//
// +kubebuilder:object:generate=true
// +groupName=tollgate.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the LLMPolicy API.
	GroupVersion = schema.GroupVersion{Group: "tollgate.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
