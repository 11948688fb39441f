package operator

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"tollgate.dev/tollgate/api/v1alpha1"
)

func TestBoundNote_CutsOnACharacterBoundary(t *testing.T) {
	assert.Equal(t, "short", boundNote("short"))
	exact := strings.Repeat("a", maxEventNote)
	assert.Equal(t, exact, boundNote(exact))
	for pad := range 4 { // the cut falls inside "€" (3 bytes) at each offset
		s := strings.Repeat("a", maxEventNote-4+pad) + strings.Repeat("€", 100)
		got := boundNote(s)
		assert.LessOrEqual(t, len(got), maxEventNote)
		assert.True(t, utf8.ValidString(got), "offset %d", pad)
		assert.True(t, strings.HasSuffix(got, "…"))
		assert.True(t, strings.HasPrefix(s, strings.TrimSuffix(got, "…")))
	}
}

// TestRun_AnEventForALongMessageIsStillRecorded: a condition's message
// may be longer than the 1024 bytes the API server takes in an Event's
// note (here: sixteen missing Secrets of long names); the Event is recorded
// with the note cut, not refused and lost.
func TestRun_AnEventForALongMessageIsStillRecorded(t *testing.T) {
	env := startEnv(t)
	c := env.Client
	o := startOperator(t, env.Config, "--enable-webhook=false", "--ledger-bind-address=0")
	o.waitReady(t, 30*time.Second)

	p := openAIPolicy("default", "many-keys")
	p.Spec.Providers = nil
	for i := range 16 {
		p.Spec.Providers = append(p.Spec.Providers, v1alpha1.Provider{
			Name: fmt.Sprintf("openai-%02d", i), Type: v1alpha1.ProviderOpenAI, BaseURL: "https://api.openai.com",
			CredentialsSecretRef: &v1alpha1.SecretKeyRef{Name: fmt.Sprintf("a-rather-long-secret-name-for-provider-%02d", i), Key: "apiKey"},
		})
	}
	require.NoError(t, c.Create(context.Background(), p))

	var note, kind string
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		var list eventsv1.EventList
		if !assert.NoError(ct, c.List(context.Background(), &list, client.InNamespace("default"))) {
			return
		}
		for _, e := range list.Items {
			if e.Regarding.Name == p.Name && e.Reason == v1alpha1.ReasonCredentialsNotFound {
				note, kind = e.Note, e.Type
			}
		}
		assert.NotEmpty(ct, note, "no CredentialsNotFound Event for the policy")
	}, 30*time.Second, 100*time.Millisecond)
	ready := readyCondition(t, c, "default", p.Name)
	require.Greater(t, len(ready.Message), maxEventNote, "the test needs a message longer than a note")
	assert.LessOrEqual(t, len(note), maxEventNote)
	assert.True(t, strings.HasSuffix(note, "…"))
	assert.True(t, strings.HasPrefix(ready.Message, strings.TrimSuffix(note, "…")), "the note is the condition's message, cut")
	assert.Equal(t, corev1.EventTypeWarning, kind)
}
