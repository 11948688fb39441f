package operator

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"tollgate.dev/tollgate/api/v1alpha1"
)

// secretValue is the data of the tests' credentials Secrets; their
// last-applied annotation holds other bytes, so that finding secretValue
// (raw, as protobuf carries it, or base64, as JSON does) in an answer
// means a Secret was sent in full.
const secretValue = "sk-full-secret-value"

// secretRequest is one request the operator sent for Secrets.
type secretRequest struct {
	method, path, query, namespace, accept, contentType string
	// body is the answer as the operator read it (a watch's whole stream).
	body *lockedBuffer
}

func (r secretRequest) String() string {
	return fmt.Sprintf("%s %s?%s Accept=%q → %q", r.method, r.path, r.query, r.accept, r.contentType)
}

// metadataOnly: asked for PartialObjectMetadata, and what came back is
// that and holds no Secret's data.
func (r secretRequest) metadataOnly(t *testing.T) bool {
	t.Helper()
	body := r.body.Bytes()
	return assert.Equal(t, http.MethodGet, r.method, "%s", r) &&
		assert.Contains(t, r.accept, "as=PartialObjectMetadata", "%s", r) &&
		assert.Contains(t, string(body), "PartialObjectMetadata", "the answer to %s", r) &&
		assert.NotContains(t, string(body), secretValue, "the answer to %s holds a Secret's data", r) &&
		assert.NotContains(t, string(body), base64.StdEncoding.EncodeToString([]byte(secretValue)), "the answer to %s holds a Secret's data", r)
}

type lockedBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// teeBody copies what the operator reads of an answer into buf.
type teeBody struct {
	io.ReadCloser
	buf *lockedBuffer
}

func (t teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	t.buf.mu.Lock()
	t.buf.buf.Write(p[:n])
	t.buf.mu.Unlock()
	return n, err
}

// secretRecorder records every request for Secrets that goes through the
// operator's rest config, with the answer's content type and body.
type secretRecorder struct {
	next http.RoundTripper

	mu   sync.Mutex // guards seen
	seen []secretRequest
}

func (s *secretRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	isSecrets := len(parts) >= 3 && parts[0] == "api" && (parts[2] == "secrets" || len(parts) >= 5 && parts[4] == "secrets")
	resp, err := s.next.RoundTrip(req)
	if !isSecrets {
		return resp, err
	}
	r := secretRequest{method: req.Method, path: req.URL.Path, query: req.URL.RawQuery, accept: req.Header.Get("Accept"), body: &lockedBuffer{}}
	if len(parts) >= 5 && parts[2] == "namespaces" {
		r.namespace = parts[3]
	}
	if resp != nil {
		r.contentType = resp.Header.Get("Content-Type")
		resp.Body = teeBody{ReadCloser: resp.Body, buf: r.body}
	}
	s.mu.Lock()
	s.seen = append(s.seen, r)
	s.mu.Unlock()
	return resp, err
}

func (s *secretRecorder) requests() []secretRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]secretRequest(nil), s.seen...)
}

// recordedConfig is env's config with every request recorded.
func recordedConfig(cfg *rest.Config) (*rest.Config, *secretRecorder) {
	rec := &secretRecorder{}
	c := rest.CopyConfig(cfg)
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec })
	return c, rec
}

// appliedSecret is a Secret as `kubectl apply` leaves it: its manifest,
// data included, in an annotation (here with other bytes than its data,
// see secretValue).
func appliedSecret(ns, name string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{
			corev1.LastAppliedConfigAnnotation: `{"apiVersion":"v1","kind":"Secret","data":{"apiKey":"bGFzdC1hcHBsaWVk"},"metadata":{"name":"` + name + `"}}`,
		}},
		Data: map[string][]byte{"apiKey": []byte(secretValue)},
	}
}

func keyedPolicy(ns, name, secret string) *v1alpha1.LLMPolicy {
	p := openAIPolicy(ns, name)
	p.Spec.Providers[0].CredentialsSecretRef = &v1alpha1.SecretKeyRef{Name: secret, Key: "apiKey"}
	return p
}

// secretBound is how soon a policy must follow its Secret: far under the
// 30s the operator polled with before it watched Secrets.
const secretBound = 5 * time.Second

// TestRun_WatchesCredentialsSecretsByMetadataOnly runs the whole operator
// (webhook, certificates, ledger) and records every request it sends for
// Secrets: a policy follows its Secret's creation and deletion within
// moments, and outside the operator's own namespace (where the certificate
// rotator keeps its CA and key) every request asks for, and gets,
// PartialObjectMetadata — no Secret is ever read in full.
func TestRun_WatchesCredentialsSecretsByMetadataOnly(t *testing.T) {
	env := startEnv(t)
	c := env.Client
	ctx := context.Background()
	mwc := installWebhook(t, c)
	for _, ns := range []string{"shop", "elsewhere"} {
		require.NoError(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}

	t.Run("every namespace", func(t *testing.T) {
		cfg, rec := recordedConfig(env.Config)
		o := startOperator(t, cfg, "--namespace="+operatorNamespace, "--webhook-cert-dir="+t.TempDir(), "--webhook-config-name="+mwc)
		o.waitReady(t, 60*time.Second)
		require.NoError(t, c.Create(ctx, keyedPolicy("shop", "keyed", "openai-key")))
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			assert.Equal(ct, v1alpha1.ReasonCredentialsNotFound, readyCondition(t, c, "shop", "keyed").Reason)
		}, 30*time.Second, 20*time.Millisecond)

		require.NoError(t, c.Create(ctx, appliedSecret("shop", "openai-key")))
		created := time.Now()
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			ready := readyCondition(t, c, "shop", "keyed")
			assert.Equal(ct, metav1.ConditionTrue, ready.Status)
			assert.Contains(ct, ready.Message, `credentials: Secret openai-key exists (key "apiKey"); the kubelet checks the keys when it starts a pod's sidecar (the operator sees only Secrets' metadata)`)
		}, secretBound, 20*time.Millisecond)
		toReady := time.Since(created)

		require.NoError(t, c.Delete(ctx, appliedSecret("shop", "openai-key")))
		deleted := time.Now()
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			assert.Equal(ct, v1alpha1.ReasonCredentialsNotFound, readyCondition(t, c, "shop", "keyed").Reason)
		}, secretBound, 20*time.Millisecond)
		t.Logf("Secret created → Ready in %s; deleted → CredentialsNotFound in %s (polled every 20ms; bound %s)",
			toReady.Round(time.Millisecond), time.Since(deleted).Round(time.Millisecond), secretBound)
		o.stop()

		reqs := rec.requests()
		requireMetadataOnly(t, reqs, operatorNamespace)
		annotationSent := false
		for _, r := range reqs {
			annotationSent = annotationSent || bytes.Contains(r.body.Bytes(), []byte("bGFzdC1hcHBsaWVk"))
		}
		assert.True(t, annotationSent, "metadata includes the last-applied annotation: what the README says, and why the cache drops annotations")
	})

	t.Run("listed namespaces only", func(t *testing.T) {
		cfg, rec := recordedConfig(env.Config)
		o := startOperator(t, cfg, "--enable-webhook=false", "--ledger-bind-address=0", "--secret-namespaces=shop")
		o.waitReady(t, 30*time.Second)
		require.NoError(t, c.Create(ctx, keyedPolicy("shop", "listed", "shop-key")))
		require.NoError(t, c.Create(ctx, keyedPolicy("elsewhere", "unlisted", "other-key")))
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			assert.Equal(ct, v1alpha1.ReasonCredentialsNotFound, readyCondition(t, c, "shop", "listed").Reason)
			ready := readyCondition(t, c, "elsewhere", "unlisted")
			assert.Equal(ct, metav1.ConditionTrue, ready.Status)
			assert.Contains(ct, ready.Message, `Secret other-key (key "apiKey") not checked: the operator watches Secrets only in namespace(s) shop (--secret-namespaces); the kubelet checks them when it starts a pod's sidecar`)
		}, 30*time.Second, 20*time.Millisecond)
		require.NoError(t, c.Create(ctx, appliedSecret("shop", "shop-key")))
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			assert.Equal(ct, metav1.ConditionTrue, readyCondition(t, c, "shop", "listed").Status)
		}, secretBound, 20*time.Millisecond)
		o.stop()

		reqs := rec.requests()
		requireMetadataOnly(t, reqs, "")
		for _, r := range reqs {
			assert.Equal(t, "shop", r.namespace, "a Secret request outside the listed namespaces: %s", r)
		}
	})
}

// requireMetadataOnly checks that every recorded Secret request outside
// own (the operator's namespace; "" for none) is metadata-only, and that
// there was a watch (client-go's informers stream their initial list in
// the watch: sendInitialEvents=true, no LIST).
func requireMetadataOnly(t *testing.T, reqs []secretRequest, own string) {
	t.Helper()
	watches := 0
	lines := map[string]bool{}
	for _, r := range reqs {
		if own != "" && r.namespace == own {
			lines["own namespace (certificate rotator and writer): "+r.method+" "+r.path] = true
			continue
		}
		lines[r.String()] = true
		if r.metadataOnly(t) && strings.Contains(r.query, "watch=true") {
			watches++
		}
	}
	assert.Positive(t, watches, "the operator watches Secrets' metadata")
	sorted := make([]string, 0, len(lines))
	for l := range lines {
		sorted = append(sorted, l)
	}
	sort.Strings(sorted)
	t.Logf("%d Secret requests:\n%s", len(reqs), strings.Join(sorted, "\n"))
}
