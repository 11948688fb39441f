package policy

import "tollgate.dev/tollgate/pkg/proxyconfig"

// Failure classifies the outcome of one attempt for retries and circuit
// breakers.
type Failure int

// Failure classes.
const (
	// NoFailure is a successful answer (2xx, or 1xx/3xx passed through).
	NoFailure Failure = iota
	// ClientError is a 4xx answer other than 408 and 429 — the request is
	// wrong and sending it again cannot help. Never retried, never counted
	// against a breaker.
	ClientError
	// Timeout is an attempt that exceeded the first-token timeout, or an
	// HTTP 408.
	Timeout
	// ConnectionError is a refused, reset or failed connection.
	ConnectionError
	// RateLimited is an HTTP 429 that asks to come back later.
	RateLimited
	// ServerError is an HTTP 5xx (including Anthropic's 529 overloaded).
	ServerError
	// Canceled is an attempt cut short because the request itself ended:
	// the app went away or the total timeout passed. It is nobody's fault
	// upstream, so it is neither retried nor counted against a breaker.
	Canceled
	// InvalidOutput is a complete answer that is not the structured output
	// its request asked for (policy validation judged it). It is retried
	// when retry.retryOn names it and sent to the fallbacks, but never
	// counted against a breaker: the provider answered, and a schema that
	// is hard to meet is one request's problem, not the provider's. The
	// provider was paid for it.
	InvalidOutput
)

// String names the failure as logs and metrics report it.
func (f Failure) String() string {
	switch f {
	case NoFailure:
		return "none"
	case ClientError:
		return "client_error"
	case Timeout:
		return "timeout"
	case ConnectionError:
		return "connection_error"
	case RateLimited:
		return "rate_limited"
	case ServerError:
		return "server_error"
	case Canceled:
		return "canceled"
	case InvalidOutput:
		return "invalid_output"
	}
	return "unknown"
}

// condition is the retry.retryOn value that covers f, or "".
func (f Failure) condition() proxyconfig.RetryCondition {
	switch f {
	case Timeout:
		return proxyconfig.RetryOnTimeout
	case ConnectionError:
		return proxyconfig.RetryOnConnectionError
	case RateLimited:
		return proxyconfig.RetryOnRateLimited
	case ServerError:
		return proxyconfig.RetryOnServerError
	case InvalidOutput:
		return proxyconfig.RetryOnInvalidOutput
	}
	return ""
}
