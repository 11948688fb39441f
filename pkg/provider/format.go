package provider

import (
	"encoding/json"
	"errors"
	"fmt"
)

// FormatKind is the form of answer a request asks for.
type FormatKind int

// Format kinds.
const (
	// FormatText is no structured output: the answer is not judged.
	FormatText FormatKind = iota
	// FormatJSON asks for any JSON value (Gemini's responseMimeType
	// application/json).
	FormatJSON
	// FormatJSONObject asks for a JSON object (OpenAI's json_object).
	FormatJSONObject
	// FormatJSONSchema asks for JSON valid against OutputFormat.Schema.
	FormatJSONSchema
)

// OutputFormat is what a request asks of the form of its answer.
type OutputFormat struct {
	Kind FormatKind
	// Schema is the raw JSON Schema of FormatJSONSchema: a slice of the
	// request body.
	Schema []byte
	// Where names the request member that asked, for messages:
	// "response_format", "output_config.format", ...
	Where string
	// SyntaxOnly says that the request has a schema the check does not
	// apply (Gemini's responseSchema, an OpenAPI subset): only the JSON
	// syntax of the answer is judged.
	SyntaxOnly bool
}

// Structured tells whether f asks for structured output at all.
func (f OutputFormat) Structured() bool { return f.Kind != FormatText }

// ErrBadFormat is wrapped by ParseOutputFormat errors: the request's
// format member is not what its API documents. The provider, not the
// proxy, judges the request; the answer is then passed on unchecked.
var ErrBadFormat = errors.New("unreadable output format")

// ParseOutputFormat reads what form req asks its answer to take, from the
// member ParseRequest kept (req.Format):
//
//   - OpenAI chat completions: response_format {type: json_object} or
//     {type: json_schema, json_schema: {schema}};
//   - OpenAI Responses: text.format {type: json_object} or
//     {type: json_schema, schema};
//   - Anthropic Messages: output_config.format, or the beta output_format,
//     {type: json_schema, schema};
//   - Gemini generateContent: generationConfig.responseMimeType
//     application/json, with responseJsonSchema (JSON Schema, checked) or
//     responseSchema (an OpenAPI subset: syntax only).
//
// Requests of other shapes, and requests without such a member, ask for
// text. The OpenAI-compatible endpoints of Anthropic and Gemini take the
// chat shape's response_format.
func ParseOutputFormat(req Request) (OutputFormat, error) {
	if len(req.Format) == 0 || string(req.Format) == "null" {
		return OutputFormat{}, nil
	}
	var (
		f   OutputFormat
		err error
	)
	switch req.Shape {
	case ShapeOpenAIChat:
		f, err = openAIFormat(req.Format, "response_format", true)
	case ShapeOpenAIResponses:
		var text struct {
			Format json.RawMessage `json:"format"`
		}
		if err = json.Unmarshal(req.Format, &text); err == nil && len(text.Format) > 0 {
			f, err = openAIFormat(text.Format, "text.format", false)
		}
	case ShapeAnthropicMessages:
		raw, where := req.Format, req.FormatMember
		if where == "output_config" {
			var oc struct {
				Format json.RawMessage `json:"format"`
			}
			if err = json.Unmarshal(raw, &oc); err != nil {
				break
			}
			raw, where = oc.Format, "output_config.format"
		}
		f, err = anthropicFormat(raw, where)
	case ShapeGeminiGenerate:
		f, err = geminiFormat(req.Format, req.FormatMember)
	}
	if err != nil {
		return OutputFormat{}, fmt.Errorf("%w: %w", ErrBadFormat, err)
	}
	return f, nil
}

// openAIFormat reads an OpenAI format object: response_format, whose
// schema sits under json_schema, or the Responses API's text.format,
// which holds it directly.
func openAIFormat(raw []byte, where string, nested bool) (OutputFormat, error) {
	if string(raw) == "null" {
		return OutputFormat{}, nil
	}
	var v struct {
		Type       string          `json:"type"`
		Schema     json.RawMessage `json:"schema"`
		JSONSchema *struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return OutputFormat{}, fmt.Errorf("%s is not an object with a type: %w", where, err)
	}
	switch v.Type {
	case "json_object":
		return OutputFormat{Kind: FormatJSONObject, Where: where}, nil
	case "json_schema":
		schema, schemaAt := v.Schema, where+".schema"
		if nested {
			schema, schemaAt = nil, where+".json_schema.schema"
			if v.JSONSchema != nil {
				schema = v.JSONSchema.Schema
			}
		}
		if len(schema) == 0 || string(schema) == "null" {
			return OutputFormat{}, fmt.Errorf("%s is json_schema without %s", where, schemaAt)
		}
		return OutputFormat{Kind: FormatJSONSchema, Schema: schema, Where: schemaAt}, nil
	}
	return OutputFormat{}, nil // "text", or a type a newer API added
}

// anthropicFormat reads Anthropic's {type: json_schema, schema}.
func anthropicFormat(raw []byte, where string) (OutputFormat, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return OutputFormat{}, nil
	}
	var v struct {
		Type   string          `json:"type"`
		Schema json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return OutputFormat{}, fmt.Errorf("%s is not an object with a type: %w", where, err)
	}
	if v.Type != "json_schema" {
		return OutputFormat{}, nil
	}
	if len(v.Schema) == 0 || string(v.Schema) == "null" {
		return OutputFormat{}, fmt.Errorf("%s is json_schema without a schema", where)
	}
	return OutputFormat{Kind: FormatJSONSchema, Schema: v.Schema, Where: where + ".schema"}, nil
}

// geminiFormat reads a generationConfig, in either JSON spelling of its
// members.
func geminiFormat(raw []byte, member string) (OutputFormat, error) {
	var mime string
	var jsonSchema, openAPISchema []byte
	var jsonSchemaAt string
	err := eachMember(raw, func(key, v []byte) {
		switch string(key) {
		case "responseMimeType", "response_mime_type":
			mime = jsonString(v)
		case "responseJsonSchema", "response_json_schema", "_responseJsonSchema":
			if string(v) != "null" {
				jsonSchema, jsonSchemaAt = v, member+"."+string(key)
			}
		case "responseSchema", "response_schema":
			if string(v) != "null" {
				openAPISchema = v
			}
		}
	})
	if err != nil {
		return OutputFormat{}, fmt.Errorf("%s is not an object: %w", member, err)
	}
	if mime != "application/json" {
		return OutputFormat{}, nil // text/plain, text/x.enum: not JSON
	}
	switch {
	case len(jsonSchema) > 0:
		return OutputFormat{Kind: FormatJSONSchema, Schema: jsonSchema, Where: jsonSchemaAt}, nil
	case len(openAPISchema) > 0:
		return OutputFormat{Kind: FormatJSON, Where: member + ".responseSchema", SyntaxOnly: true}, nil
	}
	return OutputFormat{Kind: FormatJSON, Where: member + ".responseMimeType"}, nil
}
