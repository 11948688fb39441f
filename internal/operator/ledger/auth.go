package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"tollgate.dev/tollgate/pkg/ledgerapi"
)

// Keys of a TokenReview's user extra that bind a token to its pod.
const (
	extraPodName = "authentication.kubernetes.io/pod-name"
	extraPodUID  = "authentication.kubernetes.io/pod-uid"
)

// saPrefix starts the user name of a ServiceAccount token.
const saPrefix = "system:serviceaccount:"

// reviewCacheTTL bounds how long a token's review is trusted without asking
// the API server again; a deleted pod's token stops working within it.
// Each review is trusted for a random time between half of it and all of
// it: sidecars that first synced together (a rollout, a restart of the
// operator) would otherwise all be reviewed again in the same second, a
// thousand TokenReviews holding up a thousand syncs.
const reviewCacheTTL = time.Minute

// maxCachedReviews bounds the review cache.
const maxCachedReviews = 20000

// Caller is who a token belongs to.
type Caller struct {
	// Namespace, Pod and PodUID name the pod the token is bound to.
	Namespace, Pod, PodUID string
}

// errUnauthenticated is wrapped by every authentication failure.
var errUnauthenticated = errors.New("unauthenticated")

// Authenticator verifies sidecar tokens with the API server (TokenReview,
// audience ledgerapi.Audience) and caches the answers briefly, so that a
// thousand sidecars syncing every second cost a review per token a minute,
// not a review per sync.
type Authenticator struct {
	// Client creates TokenReviews.
	Client client.Client
	// Now is the clock (for expiry and the cache).
	Now func() time.Time

	mu    sync.Mutex // guards cache
	cache map[[32]byte]cachedReview
}

type cachedReview struct {
	caller  Caller
	expires time.Time
}

// Authenticate returns the pod token, a bearer token, belongs to.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (Caller, error) {
	if token == "" {
		return Caller{}, fmt.Errorf("%w: no bearer token; a sidecar sends its pod's projected ServiceAccount token (audience %s)", errUnauthenticated, ledgerapi.Audience)
	}
	now := a.Now()
	exp, hasExp := tokenExpiry(token)
	if hasExp && !now.Before(exp) {
		return Caller{}, fmt.Errorf("%w: the token expired at %s; the kubelet refreshes projected tokens, so read the file again", errUnauthenticated, exp.UTC().Format(time.RFC3339))
	}
	key := sha256.Sum256([]byte(token))
	a.mu.Lock()
	if c, ok := a.cache[key]; ok && now.Before(c.expires) {
		a.mu.Unlock()
		return c.caller, nil
	}
	a.mu.Unlock()

	review := &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token, Audiences: []string{ledgerapi.Audience}}}
	if err := a.Client.Create(ctx, review); err != nil {
		return Caller{}, fmt.Errorf("review the token with the API server: %w", err)
	}
	st := review.Status
	if !st.Authenticated {
		msg := st.Error
		if msg == "" {
			msg = "the API server did not authenticate it"
		}
		return Caller{}, fmt.Errorf("%w: %s", errUnauthenticated, msg)
	}
	if !slices.Contains(st.Audiences, ledgerapi.Audience) {
		return Caller{}, fmt.Errorf("%w: the token is not for audience %s", errUnauthenticated, ledgerapi.Audience)
	}
	caller, err := callerOf(st.User)
	if err != nil {
		return Caller{}, err
	}
	expires := now.Add(reviewCacheTTL/2 + rand.N(reviewCacheTTL/2))
	if hasExp && exp.Before(expires) {
		expires = exp
	}
	a.mu.Lock()
	if a.cache == nil || len(a.cache) >= maxCachedReviews {
		a.cache = map[[32]byte]cachedReview{} // rare: start over rather than track ages
	}
	a.cache[key] = cachedReview{caller: caller, expires: expires}
	a.mu.Unlock()
	return caller, nil
}

// callerOf reads the pod a reviewed ServiceAccount token is bound to.
func callerOf(u authnv1.UserInfo) (Caller, error) {
	rest, ok := strings.CutPrefix(u.Username, saPrefix)
	ns, _, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || ns == "" {
		return Caller{}, fmt.Errorf("%w: %q is not a ServiceAccount; only sidecars report", errUnauthenticated, u.Username)
	}
	pod, uid := first(u.Extra[extraPodName]), first(u.Extra[extraPodUID])
	if pod == "" || uid == "" {
		return Caller{}, fmt.Errorf("%w: the token is not bound to a pod; mount a projected ServiceAccount token (the injector does)", errUnauthenticated)
	}
	return Caller{Namespace: ns, Pod: pod, PodUID: uid}, nil
}

func first(v authnv1.ExtraValue) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// tokenExpiry reads the exp claim of a JWT without verifying it: only to
// refuse an expired token early and to bound the cache. The TokenReview is
// the authority on whether the token is valid.
func tokenExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *int64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	return metav1.Unix(*claims.Exp, 0).Time, true
}
