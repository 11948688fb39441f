package provider

import (
	"bytes"
	"encoding/json"
	"time"
)

// Static responses are complete, successful answers in the shape the app's
// SDK expects, so that a fallback to a canned text looks to the app like
// any answer: same object types, same stream event sequence, zero usage.

// Content types of static responses.
const (
	contentTypeJSON = "application/json"
	contentTypeSSE  = "text/event-stream"
)

// IDs of static answers: recognisable in app logs as Tollgate's.
const (
	staticChatID     = "chatcmpl-tollgate-static"
	staticResponseID = "resp_tollgate_static"
	staticMessageID  = "msg_tollgate_static"
	staticGeminiID   = "tollgate-static"
)

// nowUnix is the clock of static answers' created timestamps; tests pin it.
var nowUnix = func() int64 { return time.Now().Unix() }

// staticResponse renders content as an answer to req.
func staticResponse(req Request, content string) (string, []byte, bool) {
	switch req.Shape {
	case ShapeOpenAIChat:
		if req.Stream {
			return contentTypeSSE, staticChatStream(req, content), true
		}
		return contentTypeJSON, mustJSON(staticChat(req, content)), true
	case ShapeOpenAIResponses:
		if req.Stream {
			return contentTypeSSE, staticResponsesStream(req, content), true
		}
		return contentTypeJSON, mustJSON(staticResponsesObject(req, content, true)), true
	case ShapeAnthropicMessages:
		if req.Stream {
			return contentTypeSSE, staticAnthropicStream(req, content), true
		}
		return contentTypeJSON, mustJSON(staticAnthropicMessage(req, content, true)), true
	case ShapeGeminiGenerate:
		body := mustJSON(staticGemini(req, content))
		if req.Stream {
			var b bytes.Buffer
			writeSSE(&b, "", body)
			return contentTypeSSE, b.Bytes(), true
		}
		return contentTypeJSON, body, true
	}
	return "", nil, false
}

// mustJSON encodes v, which holds only strings, numbers, slices and maps
// of them and so always encodes.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("{}")
	}
	return b
}

// writeSSE appends one event to b.
func writeSSE(b *bytes.Buffer, name string, data []byte) {
	if name != "" {
		b.WriteString("event: ")
		b.WriteString(name)
		b.WriteByte('\n')
	}
	b.WriteString("data: ")
	b.Write(data)
	b.WriteString("\n\n")
}

// jsonObject is a JSON object written in the order of its members, so that
// static answers read like the providers' own.
type jsonObject []member

type member struct {
	key   string
	value any
}

// MarshalJSON writes the members in order.
func (o jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// emptyList encodes as [] (a nil slice would encode as null).
var emptyList = []any{}

func staticChatUsage() jsonObject {
	return jsonObject{
		{"prompt_tokens", 0}, {"completion_tokens", 0}, {"total_tokens", 0},
		{"prompt_tokens_details", jsonObject{{"cached_tokens", 0}}},
		{"completion_tokens_details", jsonObject{{"reasoning_tokens", 0}}},
	}
}

// staticChat is a chat.completion answer.
func staticChat(req Request, content string) jsonObject {
	message := jsonObject{
		{"role", "assistant"}, {"content", content}, {"refusal", nil}, {"annotations", emptyList},
	}
	return jsonObject{
		{"id", staticChatID},
		{"object", "chat.completion"},
		{"created", nowUnix()},
		{"model", req.Model},
		{"choices", []any{jsonObject{
			{"index", 0}, {"message", message}, {"logprobs", nil}, {"finish_reason", "stop"},
		}}},
		{"usage", staticChatUsage()},
	}
}

// staticResponsesItem is the Responses API output message holding content.
func staticResponsesItem(content string, done bool) jsonObject {
	status, parts := "in_progress", emptyList
	if done {
		status, parts = "completed", []any{staticOutputText(content)}
	}
	return jsonObject{
		{"id", staticMessageID}, {"type", "message"}, {"status", status},
		{"content", parts}, {"role", "assistant"},
	}
}

func staticOutputText(text string) jsonObject {
	return jsonObject{{"type", "output_text"}, {"annotations", emptyList}, {"logprobs", emptyList}, {"text", text}}
}

// staticResponsesObject is a Responses API response object: in progress
// (no output, no usage yet) or completed.
func staticResponsesObject(req Request, content string, done bool) jsonObject {
	status, output, usage := "in_progress", emptyList, any(nil)
	if done {
		status, output = "completed", []any{staticResponsesItem(content, true)}
		usage = jsonObject{
			{"input_tokens", 0}, {"input_tokens_details", jsonObject{{"cached_tokens", 0}}},
			{"output_tokens", 0}, {"output_tokens_details", jsonObject{{"reasoning_tokens", 0}}},
			{"total_tokens", 0},
		}
	}
	return jsonObject{
		{"id", staticResponseID},
		{"object", "response"},
		{"created_at", nowUnix()},
		{"status", status},
		{"background", false},
		{"error", nil},
		{"incomplete_details", nil},
		{"instructions", nil},
		{"max_output_tokens", nil},
		{"model", req.Model},
		{"output", output},
		{"parallel_tool_calls", true},
		{"previous_response_id", nil},
		{"reasoning", jsonObject{{"effort", nil}, {"summary", nil}}},
		{"store", false},
		{"temperature", nil},
		{"text", jsonObject{{"format", jsonObject{{"type", "text"}}}}},
		{"tool_choice", "auto"},
		{"tools", emptyList},
		{"top_p", nil},
		{"truncation", "disabled"},
		{"usage", usage},
		{"metadata", jsonObject{}},
	}
}

// staticAnthropicMessage is a Messages API message: complete, or as
// message_start announces it (no content, no stop reason yet).
func staticAnthropicMessage(req Request, content string, done bool) jsonObject {
	blocks, stop := emptyList, any(nil)
	if done {
		blocks, stop = []any{jsonObject{{"type", "text"}, {"text", content}}}, "end_turn"
	}
	return jsonObject{
		{"id", staticMessageID},
		{"type", "message"},
		{"role", "assistant"},
		{"model", req.Model},
		{"content", blocks},
		{"stop_reason", stop},
		{"stop_sequence", nil},
		{"usage", jsonObject{
			{"input_tokens", 0}, {"cache_creation_input_tokens", 0},
			{"cache_read_input_tokens", 0}, {"output_tokens", 0},
		}},
	}
}

// staticGemini is a GenerateContentResponse, also used as the one chunk of
// a static stream.
func staticGemini(req Request, content string) jsonObject {
	return jsonObject{
		{"candidates", []any{jsonObject{
			{"content", jsonObject{{"parts", []any{jsonObject{{"text", content}}}}, {"role", "model"}}},
			{"finishReason", "STOP"},
			{"index", 0},
		}}},
		{"usageMetadata", jsonObject{
			{"promptTokenCount", 0}, {"candidatesTokenCount", 0}, {"totalTokenCount", 0},
		}},
		{"modelVersion", req.Model},
		{"responseId", staticGeminiID},
	}
}
