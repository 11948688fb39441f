package mockprovider

import "net/http"

// errorShape is the error body format of one provider.
type errorShape int

const (
	openAIErrors errorShape = iota
	anthropicErrors
	geminiErrors
)

// requestIDHeader is the header the provider names its request id in, so
// SDK error messages that quote it work; "" when it has none.
func (sh errorShape) requestIDHeader() string {
	switch sh {
	case openAIErrors:
		return "x-request-id"
	case anthropicErrors:
		return "request-id"
	}
	return ""
}

// openAIError is OpenAI's {"error":{...}} body.
type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// anthropicError is Anthropic's {"type":"error","error":{...}} body.
type anthropicError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// geminiError is Google's {"error":{"code","message","status"}} body.
type geminiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// errorReply is the error body sh's provider sends with status. code, when
// set, is the provider's error code (see Step.ErrorCode); message, when
// set, replaces the provider's usual message for status.
func errorReply(e *encoder, sh errorShape, status int, code, message string) reply {
	if message == "" {
		message = errorMessage(status)
	}
	var v any
	switch sh {
	case anthropicErrors:
		var body anthropicError
		body.Type = "error"
		body.Error.Type = firstSet(code, anthropicErrorType(status))
		body.Error.Message = message
		v = body
	case geminiErrors:
		var body geminiError
		body.Error.Code = status
		body.Error.Message = message
		body.Error.Status = firstSet(code, geminiStatus(status))
		v = body
	default:
		var body openAIError
		body.Error.Message = message
		body.Error.Type, body.Error.Code = openAIErrorType(status, code)
		v = body
	}
	return reply{contentType: contentJSON, body: e.json(v)}
}

// openAIErrorType is OpenAI's error.type and error.code for status; code,
// when set, wins, and insufficient_quota is also the type, as OpenAI sends
// it.
func openAIErrorType(status int, code string) (string, *string) {
	typ, def := "invalid_request_error", ""
	switch {
	case status == http.StatusUnauthorized:
		def = "invalid_api_key"
	case status == http.StatusTooManyRequests:
		typ, def = "requests", "rate_limit_exceeded"
	case status >= 500:
		typ = "server_error"
	}
	if code == "insufficient_quota" {
		typ = code
	}
	code = firstSet(code, def)
	if code == "" {
		return typ, nil
	}
	return typ, &code
}

// anthropicErrorType is Anthropic's error.type for status.
func anthropicErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// geminiStatus is Google's canonical error status for an HTTP status.
func geminiStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	if status >= 500 {
		return "INTERNAL"
	}
	return "FAILED_PRECONDITION"
}

// errorMessage is a provider-like message for status.
func errorMessage(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "Rate limit reached (mock provider). Please try again later."
	case http.StatusUnauthorized:
		return "Incorrect API key provided (mock provider)."
	case 529:
		return "Overloaded (mock provider)."
	}
	if text := http.StatusText(status); text != "" {
		return text + " (mock provider)."
	}
	return "Error (mock provider)."
}

func firstSet(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
