package ledger

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authnv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"tollgate.dev/tollgate/pkg/ledgerapi"
)

// reviewer is an API server that authenticates every token as bound to
// the pod named after it, and counts the reviews.
func reviewer(reviews *atomic.Int64) client.Client {
	return fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
		Create: func(_ context.Context, _ client.WithWatch, obj client.Object, _ ...client.CreateOption) error {
			r := obj.(*authnv1.TokenReview)
			reviews.Add(1)
			r.Status = authnv1.TokenReviewStatus{Authenticated: true, Audiences: []string{ledgerapi.Audience}, User: authnv1.UserInfo{
				Username: "system:serviceaccount:team:app",
				Extra:    map[string]authnv1.ExtraValue{extraPodName: {r.Spec.Token}, extraPodUID: {"uid-" + r.Spec.Token}},
			}}
			return nil
		},
	}).Build()
}

func TestAuthenticator_SpreadsTheReviewsOfTokensFirstSeenTogether(t *testing.T) {
	var reviews atomic.Int64
	now := may14
	a := &Authenticator{Client: reviewer(&reviews), Now: func() time.Time { return now }}
	authenticateAll := func() {
		for i := range 1000 {
			c, err := a.Authenticate(context.Background(), fmt.Sprintf("pod-%d", i))
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("pod-%d", i), c.Pod)
		}
	}
	authenticateAll()
	require.EqualValues(t, 1000, reviews.Load(), "a review for each new token")

	reviews.Store(0)
	now = may14.Add(reviewCacheTTL/2 - time.Second)
	authenticateAll()
	assert.Zero(t, reviews.Load(), "no review is trusted for less than half the TTL")

	reviews.Store(0)
	now = may14.Add(reviewCacheTTL * 3 / 4)
	authenticateAll()
	assert.InDelta(t, 500, reviews.Load(), 150, "about half the reviews expired by three quarters of the TTL, not all at once")

	reviews.Store(0)
	now = may14.Add(reviewCacheTTL)
	authenticateAll()
	assert.InDelta(t, 500, reviews.Load(), 150, "the other half by the TTL")
}
