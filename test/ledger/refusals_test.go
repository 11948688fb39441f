package ledgere2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"tollgate.dev/tollgate/api/v1alpha1"
	operatorledger "tollgate.dev/tollgate/internal/operator/ledger"
	"tollgate.dev/tollgate/pkg/ledgerapi"
)

// ledgerClient is a raw HTTPS client of the ledger, trusting its CA.
func ledgerClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// post sends body to the ledger's sync path with token (none when empty)
// and returns the status and the decoded error or reply.
func post(t *testing.T, c *http.Client, url, token string, body []byte) (int, ledgerapi.Error, ledgerapi.SyncReply) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+ledgerapi.SyncPath, bytes.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var e ledgerapi.Error
	var r ledgerapi.SyncReply
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(data, &r), "%s", data)
	} else {
		require.NoError(t, json.Unmarshal(data, &e), "a refusal is JSON: %s", data)
	}
	return resp.StatusCode, e, r
}

func readToken(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// TestLedger_RefusesBadReportsWithAClearErrorAndChangesNothing sends what a
// broken or hostile sidecar might, and checks each is refused with its
// code and a message, and that the policy's spend does not move.
func TestLedger_RefusesBadReportsWithAClearErrorAndChangesNothing(t *testing.T) {
	op := startLedger(t)
	// A ledger whose clock is 11 minutes ahead sees every token expired.
	late := startLedger(t, func(o *operatorledger.Options) {
		o.Now = func() time.Time { return time.Now().Add(11 * time.Minute) }
	})
	ns, other := newNamespace(t), newNamespace(t)
	createPolicy(t, budgetPolicy(ns, "chat", "10", "https://mock.invalid"))
	createPolicy(t, budgetPolicy(other, "theirs", "10", "https://mock.invalid"))
	elsewhere := budgetPolicy(ns, "elsewhere", "10", "https://mock.invalid")
	elsewhere.Spec.PodSelector.MatchLabels = map[string]v1alpha1.LabelValue{"app": "batch"}
	createPolicy(t, elsewhere)
	p := createPod(t, ns, "chat-1", "chat")
	var podObj corev1.Pod
	require.NoError(t, env.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "chat-1"}, &podObj))
	wrongAudience := readToken(t, tokenFor(t, ns, &podObj, []string{"not-tollgate"}))
	token := readToken(t, p.tokenFile)
	c := ledgerClient(t, op.caFile)

	period := time.Date(time.Now().UTC().Year(), time.Now().UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	good := func(seq uint64, cost string) []byte {
		return []byte(fmt.Sprintf(`{"podUID":%q,"epoch":"e1","policy":"chat","batch":{"seq":%d,"periods":[{"start":%q,"spent":%q,"requests":1,"unverified":"0","released":"0"}]},"need":"0"}`,
			p.uid, seq, period.Format(time.RFC3339), cost))
	}
	// One good report first, so that "changes nothing" means something.
	status, _, reply := post(t, c, op.url, token, good(1, "0.25"))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, uint64(1), reply.Acked)
	require.Equal(t, "0.25", reply.Spent.String())

	tests := map[string]struct {
		url, token string
		body       []byte
		wantStatus int
		wantCode   string
		wantInMsg  string
	}{
		"no token":                     {token: "", body: good(2, "1"), wantStatus: 401, wantCode: ledgerapi.CodeUnauthenticated, wantInMsg: "no bearer token"},
		"a token that is not a token":  {token: "garbage", body: good(2, "1"), wantStatus: 401, wantCode: ledgerapi.CodeUnauthenticated},
		"an expired token":             {url: late.url, token: token, body: good(2, "1"), wantStatus: 401, wantCode: ledgerapi.CodeUnauthenticated, wantInMsg: "expired"},
		"a token for another audience": {token: wrongAudience, body: good(2, "1"), wantStatus: 401, wantCode: ledgerapi.CodeUnauthenticated, wantInMsg: "audience"},
		"another pod's UID": {token: token, body: bytes.Replace(good(2, "1"), []byte(p.uid), []byte("0b1c7a1e-0000-0000-0000-000000000000"), 1),
			wantStatus: 403, wantCode: ledgerapi.CodeForbidden, wantInMsg: "is not the pod of the token"},
		"another namespace's policy": {token: token, body: bytes.Replace(good(2, "1"), []byte(`"policy":"chat"`), []byte(`"policy":"theirs"`), 1),
			wantStatus: 404, wantCode: ledgerapi.CodeUnknownPolicy, wantInMsg: "in namespace " + ns},
		"a policy that does not select the pod": {token: token, body: bytes.Replace(good(2, "1"), []byte(`"policy":"chat"`), []byte(`"policy":"elsewhere"`), 1),
			wantStatus: 403, wantCode: ledgerapi.CodeForbidden, wantInMsg: "does not select pod chat-1"},
		"an unknown policy": {token: token, body: bytes.Replace(good(2, "1"), []byte(`"policy":"chat"`), []byte(`"policy":"nope"`), 1),
			wantStatus: 404, wantCode: ledgerapi.CodeUnknownPolicy},
		"a negative cost":          {token: token, body: good(2, "-1"), wantStatus: 400, wantCode: ledgerapi.CodeBadRequest, wantInMsg: `"-1" is not a USD amount`},
		"a cost that is no number": {token: token, body: good(2, "lots"), wantStatus: 400, wantCode: ledgerapi.CodeBadRequest, wantInMsg: `"lots" is not a USD amount`},
		"a cost as a JSON number":  {token: token, body: bytes.Replace(good(2, "1"), []byte(`"spent":"1"`), []byte(`"spent":1`), 1), wantStatus: 400, wantCode: ledgerapi.CodeBadRequest},
		"garbage":                  {token: token, body: []byte(`{"podUID":`), wantStatus: 400, wantCode: ledgerapi.CodeBadRequest},
		"an unknown field":         {token: token, body: bytes.Replace(good(2, "1"), []byte(`"need"`), []byte(`"credit":"5","need"`), 1), wantStatus: 400, wantCode: ledgerapi.CodeBadRequest, wantInMsg: "unknown field"},
		"a batch that skips ahead": {token: token, body: good(9, "1"), wantStatus: 409, wantCode: ledgerapi.CodeOutOfOrder},
		"an oversized body": {token: token, body: []byte(`{"podUID":"` + strings.Repeat("x", ledgerapi.MaxRequestBytes) + `"}`),
			wantStatus: 413, wantCode: ledgerapi.CodeTooLarge},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			url, client := tc.url, c
			if url == "" {
				url = op.url
			} else {
				client = ledgerClient(t, late.caFile)
			}
			status, e, _ := post(t, client, url, tc.token, tc.body)
			assert.Equal(t, tc.wantStatus, status)
			assert.Equal(t, tc.wantCode, e.Code)
			assert.NotEmpty(t, e.Message, "the refusal says what was wrong")
			assert.Contains(t, e.Message, tc.wantInMsg)
		})
	}

	t.Run("a replayed batch is acknowledged and not counted again", func(t *testing.T) {
		status, _, reply := post(t, c, op.url, token, good(1, "0.25"))
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, uint64(1), reply.Acked)
		assert.Equal(t, "0.25", reply.Spent.String())
	})

	require.Eventually(t, func() bool {
		b := policyStatus(t, ns, "chat").Status.Budget
		return b != nil && b.Spent == "0.25"
	}, 5*time.Second, 50*time.Millisecond, "only the one good report is in the spend")
	assert.Nil(t, policyStatus(t, other, "theirs").Status.Budget, "another namespace's policy is untouched")
	assert.Nil(t, policyStatus(t, ns, "elsewhere").Status.Budget)
}
