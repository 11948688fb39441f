package operator

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReadyz_SaysWhatEachFailingCheckWaitsFor(t *testing.T) {
	ok := readyCheck{name: "ledger", check: func(*http.Request) error { return nil }}
	waiting := readyCheck{name: "webhook", check: func(*http.Request) error {
		return errors.New("waiting for the kubelet to project Secret tollgate-system/tollgate-webhook-cert")
	}}
	tests := map[string]struct {
		checks   []readyCheck
		wantCode int
		wantBody string
	}{
		"no checks":                         {nil, http.StatusOK, "ok"},
		"all pass":                          {[]readyCheck{ok}, http.StatusOK, "ok"},
		"one waits":                         {[]readyCheck{ok, waiting}, http.StatusInternalServerError, "not ready\nwebhook: waiting for the kubelet to project Secret tollgate-system/tollgate-webhook-cert\n"},
		"the reason is shown, not withheld": {[]readyCheck{waiting}, http.StatusInternalServerError, "not ready\nwebhook: waiting for the kubelet to project Secret tollgate-system/tollgate-webhook-cert\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			readyHandler(tc.checks)(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			assert.Equal(t, tc.wantCode, rec.Code)
			assert.Equal(t, tc.wantBody, rec.Body.String())
		})
	}
}
