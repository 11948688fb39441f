package provider

import (
	"bytes"
	"encoding/json"

	"tollgate.dev/tollgate/pkg/wire"
)

// ModelMembers are the top-level members of a non-streamed answer that
// ResponseModel reads: a proxy that keeps only some members of an answer
// (wire.Picker) keeps these beside UsageMembers.
var ModelMembers = []string{"model", "modelVersion"}

// maxModelBytes bounds the model name ResponseModel returns: a name longer
// than any real one is not a model name.
const maxModelBytes = 256

// ResponseModel reads the model an answer says produced it, from doc: a
// non-streamed answer of shape (or the document of its ModelMembers a
// wire.Picker kept), or the data of one event of a streamed one. ok is
// false when doc names none, as most events of a stream do not: OpenAI's
// chat chunks and Gemini's chunks each name it, the Responses API's
// response.created and Anthropic's message_start name it first, nested in
// the response or message they start.
//
// It is what the provider says, not what the app asked for: OpenAI answers
// a request for gpt-4o with the dated snapshot that served it.
func ResponseModel(shape Shape, doc []byte) (model string, ok bool) {
	switch shape {
	case ShapeOpenAIChat, ShapeOpenAIEmbeddings:
		return stringMember(doc, "model")
	case ShapeOpenAIResponses:
		if m, ok := stringMember(doc, "model"); ok {
			return m, true
		}
		return nestedStringMember(doc, "response", "model")
	case ShapeAnthropicMessages:
		if m, ok := stringMember(doc, "model"); ok {
			return m, true
		}
		return nestedStringMember(doc, "message", "model")
	case ShapeGeminiGenerate:
		i := wire.SkipSpace(doc, 0)
		if i < len(doc) && doc[i] == '[' {
			// A streamGenerateContent answer without alt=sse: every
			// element names the same model.
			var all []struct {
				ModelVersion string `json:"modelVersion"`
			}
			if json.Unmarshal(doc, &all) != nil || len(all) == 0 {
				return "", false
			}
			return bounded(all[0].ModelVersion)
		}
		return stringMember(doc, "modelVersion")
	}
	return "", false
}

// stringMember is the string value of doc's top-level member key. A byte
// search first passes over the documents that cannot have it.
func stringMember(doc []byte, key string) (string, bool) {
	if !bytes.Contains(doc, []byte(quoted[key])) {
		return "", false
	}
	raw, ok := wire.TopLevelValue(doc, key)
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return bounded(s)
}

// nestedStringMember is the string value of member key of doc's top-level
// object member outer.
func nestedStringMember(doc []byte, outer, key string) (string, bool) {
	if !wire.MayHaveObjectMember(doc, quoted[outer]) {
		return "", false
	}
	obj, ok := wire.TopLevelValue(doc, outer)
	if !ok || len(obj) == 0 || obj[0] != '{' {
		return "", false
	}
	return stringMember(obj, key)
}

// quoted are the member names ResponseModel looks for, in quotes.
var quoted = map[string]string{
	"model": `"model"`, "modelVersion": `"modelVersion"`, "response": `"response"`, "message": `"message"`,
}

// bounded is s when it may be a model name: not empty, not overlong.
func bounded(s string) (string, bool) {
	if s == "" || len(s) > maxModelBytes {
		return "", false
	}
	return s, true
}
