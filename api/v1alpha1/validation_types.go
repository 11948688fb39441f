package v1alpha1

// StreamValidation is what the sidecar does with a streamed answer to a
// request that asks for structured output.
//
// +kubebuilder:validation:Enum=PassThrough;Buffer
type StreamValidation string

// Stream validation modes.
const (
	// StreamPassThrough streams the answer to the app as it arrives,
	// unchecked.
	StreamPassThrough StreamValidation = "PassThrough"
	// StreamBuffer holds the whole stream, checks it, and only then sends
	// it to the app.
	StreamBuffer StreamValidation = "Buffer"
)

// OutputValidation checks that an answer to a request asking for
// structured output is what the request asked for: with OpenAI's
// response_format (chat completions) or text.format (Responses API) of type
// json_object or json_schema, Anthropic's output_config.format (or the
// older output_format) of type json_schema, or Gemini's
// generationConfig.responseMimeType application/json (with
// responseJsonSchema), the assistant's text must be valid JSON, and valid
// against the request's own JSON Schema when it sends one. Gemini's
// responseSchema (an OpenAPI subset, not JSON Schema) is checked for JSON
// syntax only. Requests that ask for no structured output, refusals and
// answers that call a tool instead are never judged.
//
// An answer that fails is a failure of class InvalidOutput: retried when
// retry.retryOn names InvalidOutput (it does by default), then sent to the
// fallbacks. The provider is paid for it all the same: every answer is
// charged, exactly once. When no rung gives a valid answer, the app gets
// the last answer with X-Tollgate-Validation: failed and
// X-Tollgate-Validation-Reason saying what was wrong. Checked answers
// carry X-Tollgate-Validation: passed; answers that could not be checked
// (a schema that does not compile, refers outside itself, is over 256 KiB
// or nests deeper than 128 levels; an answer over 2 MiB) carry skipped,
// with the reason. Nothing is fetched to resolve a schema.
type OutputValidation struct {
	// Enabled turns validation on. Set it to false to switch validation
	// off while keeping its settings. Default true.
	//
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// Streams is what happens to a streamed answer (stream: true) to a
	// request asking for structured output: PassThrough sends it on as it
	// arrives, unchecked; Buffer holds the whole stream (up to 2 MiB),
	// checks it, and sends it to the app only then, so that an invalid
	// stream can still be retried or fall back, at the price of the
	// stream's first-token latency: the app sees its first byte when the
	// last one arrived. Default PassThrough.
	//
	// +kubebuilder:default=PassThrough
	// +optional
	Streams StreamValidation `json:"streams,omitempty"`
}
