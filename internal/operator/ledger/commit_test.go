package ledger

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"tollgate.dev/tollgate/api/v1alpha1"
)

func TestBudgetExhausted_SaysWhetherTheLimitIsReachedOrWhatRemainsIsTooLittle(t *testing.T) {
	tests := map[string]struct {
		spent, remaining string
		want             string
	}{
		"the limit is reached": {spent: "0.05", remaining: "0",
			want: "spent 0.05 of 0.05 USD in the Daily period from 2026-05-14: the limit is reached; sidecars block requests with tollgate_budget_exhausted until 2026-05-15T00:00:00Z"},
		"what remains is less than a request needs": {spent: "0.01295", remaining: "0.03705",
			want: "spent 0.01295 of 0.05 USD in the Daily period from 2026-05-14, and what remains, 0.03705 USD, is less than a request needs; sidecars block requests with tollgate_budget_exhausted until 2026-05-15T00:00:00Z"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := &v1alpha1.LLMPolicy{Spec: v1alpha1.LLMPolicySpec{Budget: &v1alpha1.Budget{Limit: "0.05", Period: v1alpha1.BudgetDaily}}}
			end := metav1.NewTime(time.Date(2026, 5, 15, 0, 0, 0, 0, time.UTC))
			st := &v1alpha1.BudgetStatus{PeriodStart: metav1.NewTime(may14.Truncate(24 * time.Hour)), PeriodEnd: &end,
				Spent: tc.spent, Remaining: tc.remaining, State: v1alpha1.BudgetExhausted}
			setBudgetConditions(p, st, nil, usd("0"))
			c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionBudgetExhausted)
			if assert.NotNil(t, c) {
				assert.Equal(t, metav1.ConditionTrue, c.Status)
				assert.Equal(t, tc.want, c.Message)
			}
		})
	}
}

func TestCommit_AWriteCutShortByShutdownLogsNoError(t *testing.T) {
	tests := map[string]struct {
		err       error
		wantError bool
	}{
		"the ledger stops mid-write":       {err: context.Canceled},
		"the API server refuses the write": {err: errors.New("etcdserver: request timed out"), wantError: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var logged []string
			c := fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
				Get: func(ctx context.Context, _ client.WithWatch, _ client.ObjectKey, _ client.Object, _ ...client.GetOption) error {
					if errors.Is(tc.err, context.Canceled) {
						<-ctx.Done()
						return ctx.Err()
					}
					return tc.err
				},
			}).Build()
			l := New(Options{Client: c, APIReader: c, Log: funcr.New(func(_, args string) { logged = append(logged, args) }, funcr.Options{})})
			key := types.NamespacedName{Namespace: "team", Name: "chat"}
			e := &entry{book: NewBook(monthly("10"), timing, may14), written: make(chan struct{}), changed: make(chan struct{}), conditions: map[string]string{}}
			l.books[key] = e
			ctx, cancel := context.WithCancel(context.Background())
			if !tc.wantError {
				cancel()
			}
			defer cancel()

			l.commitOne(ctx, key, e)
			if tc.wantError {
				require.Len(t, logged, 1)
				assert.Contains(t, logged[0], "budget status not written")
			} else {
				assert.Empty(t, logged, "a shutdown's own cancellation is no error; the last write follows")
			}
			assert.Contains(t, l.books, key, "the book is kept for the next write")
		})
	}
}
