package llmclient

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStripTollgateHeaders_RemovesTheWholeNamespaceWhateverItsCase(t *testing.T) {
	h := http.Header{
		"X-Tollgate-Reason":   {"tollgate_budget_exhausted"},
		"x-tollgate-policy":   {"other/policy"}, // not canonical: set by hand, never parsed
		"X-TOLLGATE-ATTEMPTS": {"99"},
		"X-Tollgate":          {"no dash after: not ours"},
		"X-Tollgatekeeper":    {"not ours"},
		"Content-Type":        {"application/json"},
	}
	stripTollgateHeaders(h)
	assert.Equal(t, http.Header{
		"X-Tollgate":       {"no dash after: not ours"},
		"X-Tollgatekeeper": {"not ours"},
		"Content-Type":     {"application/json"},
	}, h)
}
