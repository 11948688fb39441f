package testenv

import (
	"context"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// LLMPolicyCRD is the name of the LLMPolicy CustomResourceDefinition.
const LLMPolicyCRD = "llmpolicies.tollgate.dev"

// schemaWait bounds how long the API server may take to apply a changed
// CRD schema to new requests.
const schemaWait = 15 * time.Second

// CreateUnderOlderSchema stores obj, an LLMPolicy the current schema
// rejects, as an API server would hold it after a CRD upgrade made its rules
// stricter: it relaxes the CRD's schema with relax, creates obj, and
// restores the schema, waiting each time until the API server applies it.
// Stored objects are not revalidated, so obj stays, accepted once and
// invalid now: the case a reconciler and a webhook must survive.
//
// relax gets the schema of the whole object (openAPIV3Schema). Tests that
// call it must not run in parallel with others of the same control plane.
func (e *Env) CreateUnderOlderSchema(ctx context.Context, obj client.Object, relax func(*apiextensionsv1.JSONSchemaProps)) error {
	var crd apiextensionsv1.CustomResourceDefinition
	if err := e.Client.Get(ctx, types.NamespacedName{Name: LLMPolicyCRD}, &crd); err != nil {
		return fmt.Errorf("get CRD %s: %w", LLMPolicyCRD, err)
	}
	original := crd.Spec.DeepCopy()
	for i := range crd.Spec.Versions {
		relax(crd.Spec.Versions[i].Schema.OpenAPIV3Schema)
	}
	if err := e.Client.Update(ctx, &crd); err != nil {
		return fmt.Errorf("relax CRD %s: %w", LLMPolicyCRD, err)
	}
	created := retry(ctx, func() error { return e.Client.Create(ctx, obj) })
	restored := e.restoreSchema(ctx, original)
	if created != nil {
		return fmt.Errorf("create %s under the relaxed schema: %w", obj.GetName(), created)
	}
	if restored != nil {
		return restored
	}
	// The current schema must refuse the object again before other tests go on.
	again := obj.DeepCopyObject().(client.Object)
	again.SetName(obj.GetName() + "-again")
	again.SetResourceVersion("")
	return retry(ctx, func() error {
		if err := e.Client.Create(ctx, again, client.DryRunAll); err == nil {
			return fmt.Errorf("the restored schema of %s still accepts %s", LLMPolicyCRD, obj.GetName())
		}
		return nil
	})
}

func (e *Env) restoreSchema(ctx context.Context, spec *apiextensionsv1.CustomResourceDefinitionSpec) error {
	return retry(ctx, func() error {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := e.Client.Get(ctx, types.NamespacedName{Name: LLMPolicyCRD}, &crd); err != nil {
			return err
		}
		crd.Spec = *spec.DeepCopy()
		if err := e.Client.Update(ctx, &crd); err != nil {
			return fmt.Errorf("restore CRD %s: %w", LLMPolicyCRD, err)
		}
		return nil
	})
}

// retry calls fn until it succeeds or schemaWait passes, returning its last
// error.
func retry(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(schemaWait)
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// RelaxTotalTimeout is a relaxation for CreateUnderOlderSchema: it drops
// the checks of spec.timeouts.total, as if an older CRD had not had them,
// so that a policy with a total timeout that is no duration can be stored.
func RelaxTotalTimeout(root *apiextensionsv1.JSONSchemaProps) {
	spec := root.Properties["spec"]
	timeouts := spec.Properties["timeouts"]
	total := timeouts.Properties["total"]
	total.XValidations, total.MaxLength, total.Pattern = nil, nil, ""
	timeouts.Properties["total"] = total
	spec.Properties["timeouts"] = timeouts
	root.Properties["spec"] = spec
}
