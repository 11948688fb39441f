package ledger

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-logr/logr/funcr"
	"github.com/stretchr/testify/assert"

	"tollgate.dev/tollgate/pkg/ledgerapi"
)

func TestRefuse_LogsWhatWasNotServedButNotAShutdownsOwnRefusals(t *testing.T) {
	tests := map[string]struct {
		stopped bool
		err     error
		wantLog bool
	}{
		"the API server cannot take the write": {err: refusal(http.StatusServiceUnavailable, ledgerapi.CodeUnavailable, "write the budget status: etcdserver: request timed out"), wantLog: true},
		"the replica stopped serving":          {stopped: true, err: refusal(http.StatusServiceUnavailable, ledgerapi.CodeNotLeader, "this replica stopped serving the ledger; ask the next leader")},
		"a bad request":                        {err: refusal(http.StatusBadRequest, ledgerapi.CodeBadRequest, "policy is required")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var logged []string
			l := New(Options{Log: funcr.New(func(_, args string) { logged = append(logged, args) }, funcr.Options{})})
			if tc.stopped {
				l.close()
			}
			w := httptest.NewRecorder()
			l.refuse(w, tc.err)
			assert.Equal(t, tc.err.(*ErrBadSync).Status, w.Code, "answered all the same")
			if tc.wantLog {
				assert.Len(t, logged, 1)
			} else {
				assert.Empty(t, logged)
			}
		})
	}
}
