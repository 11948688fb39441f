package provider

import "bytes"

// staticChatStream is a chat.completion.chunk stream: a role chunk, the
// content, a finish chunk, the usage chunk when the app asked for it, and
// the [DONE] sentinel, as OpenAI sends them.
func staticChatStream(req Request, content string) []byte {
	created := nowUnix()
	chunk := func(choices []any, usage any) []byte {
		c := jsonObject{
			{"id", staticChatID},
			{"object", "chat.completion.chunk"},
			{"created", created},
			{"model", req.Model},
			{"choices", choices},
		}
		// With include_usage every chunk has a usage member, null but in
		// the last one.
		if req.StreamUsageRequested {
			c = append(c, member{"usage", usage})
		}
		return mustJSON(c)
	}
	choice := func(delta jsonObject, finish any) []any {
		return []any{jsonObject{{"index", 0}, {"delta", delta}, {"logprobs", nil}, {"finish_reason", finish}}}
	}
	var b bytes.Buffer
	writeSSE(&b, "", chunk(choice(jsonObject{{"role", "assistant"}, {"content", ""}, {"refusal", nil}}, nil), nil))
	writeSSE(&b, "", chunk(choice(jsonObject{{"content", content}}, nil), nil))
	writeSSE(&b, "", chunk(choice(jsonObject{}, "stop"), nil))
	if req.StreamUsageRequested {
		writeSSE(&b, "", chunk(emptyList, staticChatUsage()))
	}
	writeSSE(&b, "", []byte("[DONE]"))
	return b.Bytes()
}

// staticResponsesStream is a Responses API event stream, in the order the
// API sends the events of a one-message answer.
func staticResponsesStream(req Request, content string) []byte {
	var b bytes.Buffer
	seq := 0
	event := func(name string, rest ...member) {
		e := append(jsonObject{{"type", name}, {"sequence_number", seq}}, rest...)
		writeSSE(&b, name, mustJSON(e))
		seq++
	}
	inPart := []member{{"item_id", staticMessageID}, {"output_index", 0}, {"content_index", 0}}

	event("response.created", member{"response", staticResponsesObject(req, content, false)})
	event("response.in_progress", member{"response", staticResponsesObject(req, content, false)})
	event("response.output_item.added", member{"output_index", 0}, member{"item", staticResponsesItem(content, false)})
	event("response.content_part.added", append(inPart, member{"part", staticOutputText("")})...)
	event("response.output_text.delta", append(inPart, member{"delta", content}, member{"logprobs", emptyList})...)
	event("response.output_text.done", append(inPart, member{"text", content}, member{"logprobs", emptyList})...)
	event("response.content_part.done", append(inPart, member{"part", staticOutputText(content)})...)
	event("response.output_item.done", member{"output_index", 0}, member{"item", staticResponsesItem(content, true)})
	event("response.completed", member{"response", staticResponsesObject(req, content, true)})
	return b.Bytes()
}

// staticAnthropicStream is a Messages API event stream with one text block.
func staticAnthropicStream(req Request, content string) []byte {
	var b bytes.Buffer
	event := func(name string, rest ...member) {
		writeSSE(&b, name, mustJSON(append(jsonObject{{"type", name}}, rest...)))
	}
	event("message_start", member{"message", staticAnthropicMessage(req, content, false)})
	event("content_block_start", member{"index", 0}, member{"content_block", jsonObject{{"type", "text"}, {"text", ""}}})
	event("content_block_delta", member{"index", 0}, member{"delta", jsonObject{{"type", "text_delta"}, {"text", content}}})
	event("content_block_stop", member{"index", 0})
	event("message_delta",
		member{"delta", jsonObject{{"stop_reason", "end_turn"}, {"stop_sequence", nil}}},
		member{"usage", jsonObject{{"output_tokens", 0}}})
	event("message_stop")
	return b.Bytes()
}
