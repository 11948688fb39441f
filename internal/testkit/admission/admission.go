// Package admission sends pods to a running operator's injection webhook
// as the API server does, for tests of the operator binary and its wiring.
package admission

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/internal/operator/webhook"
)

// ReviewPod asks the webhook serving on 127.0.0.1:port to admit the
// creation of a pod labelled for injection, trusting caPEM for the
// webhook Service of namespace ns as the API server does, and returns its
// answer, which it requires to be HTTP 200.
func ReviewPod(t testing.TB, caPEM []byte, ns string, port int) *admissionv1.AdmissionResponse {
	t.Helper()
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM), "the CA is PEM")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "tollgate-webhook." + ns + ".svc"}}}
	defer client.CloseIdleConnections()
	pod := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default", Labels: map[string]string{inject.InjectLabel: "true"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
	}
	raw, err := json.Marshal(pod)
	require.NoError(t, err)
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: "default", Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw},
		},
	})
	require.NoError(t, err)
	resp, err := client.Post(fmt.Sprintf("https://127.0.0.1:%d%s", port, webhook.Path), "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var answer admissionv1.AdmissionReview
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
	require.NotNil(t, answer.Response)
	return answer.Response
}
