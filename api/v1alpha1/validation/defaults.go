package validation

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"tollgate.dev/tollgate/api/v1alpha1"
)

// crdYAML is the generated LLMPolicy CRD (a copy `make manifests` keeps in
// step with config/crd/bases). Its schema is the one home of the defaults:
// the API server applies them from the CRD, and so does Decode, for policies
// that do not come through an API server.
//
//go:embed tollgate.dev_llmpolicies.yaml
var crdYAML []byte

// Decode reads an LLMPolicy manifest (YAML or JSON) as the API server would
// with strict field validation: an unknown or duplicate field is an error
// naming its path, the CRD's defaults fill what is absent (or null), and a
// field given explicitly keeps its value even when it is the zero value,
// so that `maxAttempts: 0` is rejected by Validate as it is by the API
// server rather than silently becoming the default.
func Decode(data []byte) (*v1alpha1.LLMPolicy, error) {
	jsonData, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("not YAML or JSON: %w", err)
	}
	// Unknown and duplicate fields first, on the bytes as written.
	var p v1alpha1.LLMPolicy
	strict, err := sigsjson.UnmarshalStrict(jsonData, &p, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("strict decoding error: %s", strings.Join(msgs, ", "))
	}
	obj, err := decodeObject(jsonData)
	if err != nil {
		return nil, err
	}
	if err := defaultObject(obj); err != nil {
		return nil, err
	}
	return fromObject(obj)
}

// Default fills in the defaults the API server would, from the CRD's
// schema, in a policy built in Go. A typed policy cannot tell an explicit
// zero from an absent field (both are omitted when encoded), so zero
// fields are defaulted; read files with Decode, which can.
func Default(p *v1alpha1.LLMPolicy) {
	data, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("encode an LLMPolicy: %v", err)) // the types always encode
	}
	obj, err := decodeObject(data)
	if err == nil {
		err = defaultObject(obj)
	}
	var out *v1alpha1.LLMPolicy
	if err == nil {
		out, err = fromObject(obj)
	}
	if err != nil {
		// Only a broken embedded CRD gets here; the test of this package
		// exercises it, so it cannot ship.
		panic(fmt.Sprintf("default an LLMPolicy: %v", err))
	}
	*p = *out
}

// schema is what defaulting reads of an OpenAPI v3 schema.
type schema struct {
	Properties           map[string]*schema `json:"properties"`
	Items                *schema            `json:"items"`
	AdditionalProperties json.RawMessage    `json:"additionalProperties"` // a schema or a bool
	Default              json.RawMessage    `json:"default"`
	Nullable             bool               `json:"nullable"`
}

// policySchema is the CRD's schema of an LLMPolicy, parsed once.
var policySchema = sync.OnceValues(func() (*schema, error) {
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema *schema `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(crdYAML, &crd); err != nil {
		return nil, fmt.Errorf("the embedded CRD: %w", err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name == v1alpha1.GroupVersion.Version && v.Schema.OpenAPIV3Schema != nil {
			return v.Schema.OpenAPIV3Schema, nil
		}
	}
	return nil, fmt.Errorf("the embedded CRD has no schema for %s", v1alpha1.GroupVersion.Version)
})

func defaultObject(obj map[string]any) error {
	s, err := policySchema()
	if err != nil {
		return err
	}
	return applyDefaults(s, obj)
}

// applyDefaults does what the API server's structural defaulting does: a
// property that is absent, or null without being nullable, takes its
// default; then the defaults of what it holds apply, all the way down.
func applyDefaults(s *schema, v any) error {
	switch v := v.(type) {
	case map[string]any:
		for name, ps := range s.Properties {
			val, present := v[name]
			if (!present || (val == nil && !ps.Nullable)) && ps.Default != nil {
				d, err := decodeValue(ps.Default)
				if err != nil {
					return fmt.Errorf("the default of %s: %w", name, err)
				}
				v[name] = d
			} else if present && val == nil && !ps.Nullable {
				delete(v, name) // the API server prunes a null it cannot keep
			}
			if err := applyDefaults(ps, v[name]); err != nil {
				return err
			}
		}
		if s.Properties == nil && len(s.AdditionalProperties) > 0 && s.AdditionalProperties[0] == '{' {
			var as schema
			if err := json.Unmarshal(s.AdditionalProperties, &as); err != nil {
				return err
			}
			for _, val := range v {
				if err := applyDefaults(&as, val); err != nil {
					return err
				}
			}
		}
	case []any:
		if s.Items != nil {
			for _, val := range v {
				if err := applyDefaults(s.Items, val); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func decodeObject(data []byte) (map[string]any, error) {
	v, err := decodeValue(data)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("an LLMPolicy manifest is an object with apiVersion, kind, metadata and spec")
	}
	return obj, nil
}

// decodeValue keeps numbers as written (json.Number), so that no integer
// passes through a float on its way to the typed policy.
func decodeValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func fromObject(obj map[string]any) (*v1alpha1.LLMPolicy, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var p v1alpha1.LLMPolicy
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// DefaultRetryOn is the default of retry.retryOn: every retryable failure.
func DefaultRetryOn() []v1alpha1.RetryCondition {
	return []v1alpha1.RetryCondition{v1alpha1.RetryOnTimeout, v1alpha1.RetryOnConnectionError, v1alpha1.RetryOnRateLimited, v1alpha1.RetryOnServerError, v1alpha1.RetryOnInvalidOutput}
}
