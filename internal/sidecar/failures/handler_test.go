package failures

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/policy"
)

// get asks h for target from remote.
func get(h http.Handler, target, remote string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

type page struct {
	Count      int      `json:"count"`
	Stored     int      `json:"stored"`
	MemoryOnly int      `json:"memory_only"`
	Records    []Record `json:"records"`
	Error      string   `json:"error"`
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) page {
	t.Helper()
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var p page
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p), rec.Body.String())
	return p
}

func TestHandler_ServesTheNewestFirstUpToTheLimit(t *testing.T) {
	c := &counts{}
	s := open(t, Options{Dir: t.TempDir()}, c)
	for _, id := range []string{"a", "b", "c"} {
		add(t, s, c, report(id, 10))
	}
	h := Handler(s)
	tests := map[string]struct {
		target     string
		wantStatus int
		wantIDs    []string
		wantError  string
	}{
		"all of them":        {target: "/failures", wantStatus: 200, wantIDs: []string{"c", "b", "a"}},
		"the newest two":     {target: "/failures?limit=2", wantStatus: 200, wantIDs: []string{"c", "b"}},
		"more than there is": {target: "/failures?limit=500", wantStatus: 200, wantIDs: []string{"c", "b", "a"}},
		"a zero limit":       {target: "/failures?limit=0", wantStatus: 400, wantError: `limit "0" must be a positive number of records, e.g. /failures?limit=50`},
		"a word":             {target: "/failures?limit=all", wantStatus: 400, wantError: `limit "all" must be a positive number`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := get(h, tc.target, "127.0.0.1:5555")
			require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			p := decode(t, rec)
			assert.Contains(t, p.Error, tc.wantError)
			if tc.wantIDs == nil {
				return
			}
			var ids []string
			for _, r := range p.Records {
				ids = append(ids, r.RequestID)
			}
			assert.Equal(t, tc.wantIDs, ids)
			assert.Equal(t, len(tc.wantIDs), p.Count)
			assert.Equal(t, 3, p.Stored)
		})
	}
}

func TestHandler_AnswersLoopbackClientsOnly(t *testing.T) {
	c := &counts{}
	h := Handler(open(t, Options{Dir: t.TempDir()}, c))
	for _, remote := range []string{"127.0.0.1:1234", "[::1]:1234"} {
		assert.Equal(t, 200, get(h, "/failures", remote).Code, remote)
	}
	for _, remote := range []string{"10.1.2.3:1234", "[fd00::1]:1234", "garbage"} {
		rec := get(h, "/failures", remote)
		assert.Equal(t, 403, rec.Code, remote)
		assert.Contains(t, decode(t, rec).Error, "kubectl port-forward pod/POD 15020")
	}
}

func TestHandler_SaysHowToTurnRecordsOn(t *testing.T) {
	rec := get(Handler(nil), "/failures", "127.0.0.1:1")
	assert.Equal(t, 404, rec.Code)
	assert.Contains(t, decode(t, rec).Error, "start the sidecar with --failure-records-dir")
}

func TestRecord_OfAFallbackNamesTheRungThatAnswered(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		rep          llmclient.Report
		wantKind     string
		wantBy       string
		wantErrorTyp string
	}{
		"another model answered": {
			rep:      llmclient.Report{Status: 200, End: "complete", Failure: "none", Rung: 1, Served: policy.Target{Provider: "claude", Model: "claude-haiku-4-5"}},
			wantKind: KindFallback, wantBy: "claude/claude-haiku-4-5",
		},
		"the last good answer": {
			rep:      llmclient.Report{Status: 200, End: "complete", Failure: "none", Rung: 1, Stale: true},
			wantKind: KindFallback, wantBy: "cache",
		},
		"the static answer": {
			rep:      llmclient.Report{Status: 200, End: "complete", Failure: "none", Rung: 2, Static: true},
			wantKind: KindFallback, wantBy: "static",
		},
		"a fallback whose stream broke off": {
			rep:      llmclient.Report{Status: 200, End: "upstream_error", Failure: "none", Rung: 1, Served: policy.Target{Provider: "openai", Model: "gpt-4o"}},
			wantKind: KindFailure, wantBy: "openai/gpt-4o", wantErrorTyp: "upstream_error",
		},
		"a refusal": {
			rep:      llmclient.Report{Status: 502, End: "complete", Failure: "connection_error", Refusal: "tollgate_upstream_unavailable"},
			wantKind: KindFailure, wantErrorTyp: "tollgate_upstream_unavailable",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rep := tc.rep
			rep.Start, rep.Trace = start, &llmclient.Trace{Method: "POST"}
			r := fromReport(&rep, "id")
			assert.Equal(t, tc.wantKind, r.Kind)
			assert.Equal(t, tc.wantBy, r.AnsweredBy)
			assert.Equal(t, tc.wantErrorTyp, r.ErrorType)
			assert.Equal(t, start, r.Time)
			assert.NotNil(t, r.Attempts, "an empty list, not null")
		})
	}
}
