package ledger

import (
	"context"
	"errors"
	"testing"

	"github.com/go-logr/logr/funcr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

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
			e := &entry{book: NewBook(monthly("10"), timing, may14), written: make(chan struct{}), conditions: map[string]string{}}
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
