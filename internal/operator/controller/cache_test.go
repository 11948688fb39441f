package controller_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tollgate.dev/tollgate/internal/operator/controller"
)

// `kubectl apply` puts a Secret's whole manifest, data included, into an
// annotation: metadata is not free of data, so the cache keeps neither
// annotations nor managedFields (which name the keys).
func TestStripSecret_CachesNothingOfASecretsData(t *testing.T) {
	lastApplied := `{"apiVersion":"v1","data":{"apiKey":"c2stdGVzdA=="},"kind":"Secret","metadata":{"name":"openai-key"}}`
	objectMeta := metav1.ObjectMeta{
		Name: "openai-key", Namespace: "shop", Labels: map[string]string{"team": "a"},
		Annotations:   map[string]string{corev1.LastAppliedConfigAnnotation: lastApplied},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:data":{"f:apiKey":{}}}`)}}},
	}
	tests := map[string]struct {
		in any
	}{
		"metadata, as the reconciler's watch caches it": {in: &metav1.PartialObjectMetadata{ObjectMeta: *objectMeta.DeepCopy()}},
		"a full Secret, which the operator never asks for": {in: &corev1.Secret{
			ObjectMeta: *objectMeta.DeepCopy(), Data: map[string][]byte{"apiKey": []byte("sk-test")}, StringData: map[string]string{"other": "x"},
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := controller.StripSecret(tc.in)
			require.NoError(t, err)
			switch o := out.(type) {
			case *metav1.PartialObjectMetadata:
				assert.Nil(t, o.Annotations)
				assert.Nil(t, o.ManagedFields)
				assert.Equal(t, "openai-key", o.Name, "what existence needs stays")
			case *corev1.Secret:
				assert.Nil(t, o.Annotations)
				assert.Nil(t, o.ManagedFields)
				assert.Nil(t, o.Data)
				assert.Nil(t, o.StringData)
				assert.Equal(t, "openai-key", o.Name)
			default:
				t.Fatalf("unexpected %T", out)
			}
		})
	}
}
