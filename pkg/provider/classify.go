package provider

import (
	"bytes"
	"net/http"

	"tollgate.dev/tollgate/pkg/policy"
	"tollgate.dev/tollgate/pkg/wire"
)

// classifyStatus classifies an answer by its status. checkQuota is set for
// providers of OpenAI's error shape, whose 429 also reports an exhausted
// quota or billing limit (code insufficient_quota): that does not pass with
// time, so it is a client error, neither retried nor counted by a breaker.
func classifyStatus(status int, body []byte, checkQuota bool) policy.Failure {
	switch {
	case status < http.StatusBadRequest:
		return policy.NoFailure
	case status == http.StatusRequestTimeout:
		return policy.Timeout
	case status == http.StatusTooManyRequests:
		if checkQuota && isInsufficientQuota(body) {
			return policy.ClientError
		}
		return policy.RateLimited
	case status >= http.StatusInternalServerError:
		// Includes Anthropic's 529 overloaded.
		return policy.ServerError
	}
	return policy.ClientError
}

// isInsufficientQuota reports whether an OpenAI-shaped error body has code
// (or type) insufficient_quota.
func isInsufficientQuota(body []byte) bool {
	const quota = "insufficient_quota"
	if !bytes.Contains(body, []byte(quota)) {
		return false
	}
	// The body is cut at 64 KiB, but a quota error is a few hundred bytes;
	// a body that does not parse is not one.
	e, ok := wire.TopLevelValue(body, "error")
	if !ok || len(e) == 0 || e[0] != '{' {
		return false
	}
	code, _ := wire.TopLevelValue(e, "code")
	typ, _ := wire.TopLevelValue(e, "type")
	return jsonString(code) == quota || jsonString(typ) == quota
}
