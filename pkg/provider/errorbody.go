package provider

import (
	"encoding/json"
	"net/http"
)

// errorBody renders one of Tollgate's own refusals in the error shape that
// the request's SDK parses: that of the request's shape, or, for requests
// of ShapeOther, fallback (the provider's own shape).
func errorBody(shape, fallback Shape, status int, code, message string) []byte {
	if shape == ShapeOther || shape == "" {
		shape = fallback
	}
	var v any
	switch shape {
	case ShapeAnthropicMessages:
		v = anthropicError(status, code, message)
	case ShapeGeminiGenerate:
		v = geminiError(status, code, message)
	default:
		v = openAIError(status, code, message)
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Cannot happen: the values are strings and ints.
		return []byte(`{"error":{"message":"internal error","type":"server_error","param":null,"code":"tollgate_internal"}}`)
	}
	return b
}

// openAIErrorJSON is OpenAI's error answer, which Azure OpenAI and
// OpenAI-compatible servers share; SDKs expose error.code.
type openAIErrorJSON struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

func openAIError(status int, code, message string) openAIErrorJSON {
	var e openAIErrorJSON
	e.Error.Message = message
	e.Error.Type = openAIErrorType(status)
	e.Error.Code = code
	return e
}

// openAIErrorType is the error.type OpenAI uses for status.
func openAIErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return "timeout_error"
	}
	if status >= http.StatusInternalServerError {
		return "server_error"
	}
	return "invalid_request_error"
}

// anthropicErrorJSON is Anthropic's error answer. Code is our addition:
// Anthropic's own errors carry none, and unknown members are kept by the
// SDKs for callers that look.
type anthropicErrorJSON struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"error"`
}

func anthropicError(status int, code, message string) anthropicErrorJSON {
	e := anthropicErrorJSON{Type: "error"}
	e.Error.Type = anthropicErrorType(status)
	e.Error.Message = message
	e.Error.Code = code
	return e
}

// anthropicErrorType is the error.type Anthropic uses for status.
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
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return "timeout_error"
	case http.StatusServiceUnavailable, 529:
		return "overloaded_error"
	}
	if status >= http.StatusInternalServerError {
		return "api_error"
	}
	return "invalid_request_error"
}

// geminiErrorJSON is a Google API error (google.rpc.Status over HTTP), with
// our code as the reason of an ErrorInfo detail, where Google puts
// machine-readable reasons.
type geminiErrorJSON struct {
	Error struct {
		Code    int                   `json:"code"`
		Message string                `json:"message"`
		Status  string                `json:"status"`
		Details []geminiErrorInfoJSON `json:"details"`
	} `json:"error"`
}

type geminiErrorInfoJSON struct {
	Type   string `json:"@type"`
	Reason string `json:"reason"`
	Domain string `json:"domain"`
}

func geminiError(status int, code, message string) geminiErrorJSON {
	var e geminiErrorJSON
	e.Error.Code = status
	e.Error.Message = message
	e.Error.Status = geminiStatus(status)
	e.Error.Details = []geminiErrorInfoJSON{{
		Type:   "type.googleapis.com/google.rpc.ErrorInfo",
		Reason: code,
		Domain: "tollgate.dev",
	}}
	return e
}

// geminiStatus is the google.rpc.Code name Google's HTTP mapping gives
// status.
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
	case 499:
		return "CANCELLED"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	if status >= http.StatusInternalServerError {
		return "INTERNAL"
	}
	return "INVALID_ARGUMENT"
}
