package mockprovider

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"iter"
	"math"
)

// OpenAI chat completions: https://platform.openai.com/docs/api-reference/chat

type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []chatChoice `json:"choices"`
	Usage             chatUsage    `json:"usage"`
	ServiceTier       string       `json:"service_tier"`
	SystemFingerprint string       `json:"system_fingerprint"`
}

type chatChoice struct {
	Index        int             `json:"index"`
	Message      chatMessage     `json:"message"`
	Logprobs     json.RawMessage `json:"logprobs"` // nil encodes as null
	FinishReason string          `json:"finish_reason"`
}

type chatMessage struct {
	Role        string          `json:"role"`
	Content     string          `json:"content"`
	Refusal     json.RawMessage `json:"refusal"`
	Annotations []struct{}      `json:"annotations"`
}

type chatUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
		AudioTokens  int64 `json:"audio_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens          int64 `json:"reasoning_tokens"`
		AudioTokens              int64 `json:"audio_tokens"`
		AcceptedPredictionTokens int64 `json:"accepted_prediction_tokens"`
		RejectedPredictionTokens int64 `json:"rejected_prediction_tokens"`
	} `json:"completion_tokens_details"`
}

// chatChunk is one chat.completion.chunk of a stream.
type chatChunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	ServiceTier       string        `json:"service_tier"`
	SystemFingerprint string        `json:"system_fingerprint"`
	Choices           []chunkChoice `json:"choices"`
	// Usage is absent unless the request set include_usage; then it is
	// null on every chunk but the last, as in the real API.
	Usage any `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int             `json:"index"`
	Delta        chunkDelta      `json:"delta"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

type chunkDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

const mockFingerprint = "fp_mock"

// doneEvent ends OpenAI chat streams.
var doneEvent = []byte("data: [DONE]\n\n")

func chatUsageOf(u Usage) *chatUsage {
	cu := &chatUsage{
		PromptTokens:     u.InputTokens,
		CompletionTokens: u.OutputTokens,
		TotalTokens:      u.InputTokens + u.OutputTokens,
	}
	cu.PromptTokensDetails.CachedTokens = u.CachedInputTokens
	return cu
}

func chatAnswer(c *call, e *encoder) reply {
	if c.stream {
		return reply{contentType: contentSSE, events: chatStream(c, e)}
	}
	return reply{contentType: contentJSON, body: e.json(&chatCompletion{
		ID:      id("chatcmpl-mock", c.seq),
		Object:  "chat.completion",
		Created: c.created,
		Model:   c.model,
		Choices: []chatChoice{{
			Message:      chatMessage{Role: "assistant", Content: c.st.text, Annotations: emptyList},
			FinishReason: "stop",
		}},
		Usage:             *chatUsageOf(c.st.usage),
		ServiceTier:       "default",
		SystemFingerprint: mockFingerprint,
	})}
}

// chatStream yields: a chunk with the assistant role, one chunk per
// content delta, a chunk with finish_reason "stop", the usage chunk (only
// with include_usage), and data: [DONE].
func chatStream(c *call, e *encoder) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		// One chunk value, edited between events, keeps encoding cheap.
		chunk := chatChunk{
			ID:                id("chatcmpl-mock", c.seq),
			Object:            "chat.completion.chunk",
			Created:           c.created,
			Model:             c.model,
			ServiceTier:       "default",
			SystemFingerprint: mockFingerprint,
			Choices:           make([]chunkChoice, 1),
		}
		if c.includeUsage {
			chunk.Usage = jsonNull
		}
		choice := &chunk.Choices[0]
		empty := ""
		choice.Delta = chunkDelta{Role: "assistant", Content: &empty}
		if !yield(e.event("", &chunk)) {
			return
		}
		choice.Delta.Role = ""
		for i := range c.st.deltas {
			choice.Delta.Content = &c.st.deltas[i]
			if !yield(e.event("", &chunk)) {
				return
			}
		}
		stop := "stop"
		choice.Delta, choice.FinishReason = chunkDelta{}, &stop
		if !yield(e.event("", &chunk)) {
			return
		}
		if c.includeUsage {
			chunk.Choices, chunk.Usage = []chunkChoice{}, chatUsageOf(c.st.usage)
			if !yield(e.event("", &chunk)) {
				return
			}
		}
		yield(doneEvent)
	}
}

// OpenAI embeddings: https://platform.openai.com/docs/api-reference/embeddings

type embeddingList struct {
	Object string      `json:"object"`
	Data   []embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  struct {
		PromptTokens int64 `json:"prompt_tokens"`
		TotalTokens  int64 `json:"total_tokens"`
	} `json:"usage"`
}

type embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string
}

func embeddingsAnswer(c *call, e *encoder) reply {
	list := embeddingList{Object: "list", Model: c.model, Data: make([]embedding, len(c.inputs))}
	for i, text := range c.inputs {
		v := Embed(text, c.dimensions)
		list.Data[i] = embedding{Object: "embedding", Index: i, Embedding: v}
		if c.base64 {
			b := make([]byte, 0, 4*len(v))
			for _, f := range v {
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
			}
			list.Data[i].Embedding = base64.StdEncoding.EncodeToString(b)
		}
	}
	list.Usage.PromptTokens = c.st.usage.InputTokens
	list.Usage.TotalTokens = c.st.usage.InputTokens
	return reply{contentType: contentJSON, body: e.json(&list)}
}

// OpenAI models: https://platform.openai.com/docs/api-reference/models

// modelsBody is the fixed model list, encoded once.
var modelsBody = func() []byte {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list"}
	for _, name := range []string{"gpt-4o", "gpt-4o-mini", "text-embedding-3-small", "mock-model"} {
		list.Data = append(list.Data, model{ID: name, Object: "model", Created: 1715367049, OwnedBy: "system"})
	}
	b, err := json.Marshal(list)
	if err != nil {
		panic(err)
	}
	return b
}()

func modelsAnswer(*call, *encoder) reply {
	return reply{contentType: contentJSON, body: modelsBody}
}
