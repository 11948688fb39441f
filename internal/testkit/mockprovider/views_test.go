package mockprovider_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

// seen is what a client makes of an answer: its model, text and usage
// (input counting cached tokens, as the sidecar does).
type seen struct {
	Model                 string
	Text                  string
	Input, Cached, Output int64
}

var scriptedUsage = &mockprovider.Usage{InputTokens: 100, OutputTokens: 20, CachedInputTokens: 40}

var wantSeen = seen{Text: mockprovider.DefaultContent, Input: 100, Cached: 40, Output: 20}

// Minimal client-side views of the providers' bodies.
type (
	openAIChat struct {
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"message"`
			Delta struct {
				Content string `json:"content"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *struct {
			PromptTokens        int64 `json:"prompt_tokens"`
			CompletionTokens    int64 `json:"completion_tokens"`
			PromptTokensDetails struct {
				CachedTokens int64 `json:"cached_tokens"`
			} `json:"prompt_tokens_details"`
		} `json:"usage"`
	}
	openAIResponse struct {
		Object string `json:"object"`
		Model  string `json:"model"`
		Output []struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"output"`
		Usage *struct {
			InputTokens        int64 `json:"input_tokens"`
			OutputTokens       int64 `json:"output_tokens"`
			InputTokensDetails struct {
				CachedTokens int64 `json:"cached_tokens"`
			} `json:"input_tokens_details"`
		} `json:"usage"`
	}
	openAIResponseEvent struct {
		Type     string         `json:"type"`
		Delta    string         `json:"delta"`
		Response openAIResponse `json:"response"`
	}
	anthropicMessage struct {
		Type    string `json:"type"`
		Model   string `json:"model"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		Usage anthropicUsage `json:"usage"`
	}
	anthropicUsage struct {
		InputTokens          int64 `json:"input_tokens"`
		CacheReadInputTokens int64 `json:"cache_read_input_tokens"`
		OutputTokens         int64 `json:"output_tokens"`
	}
	anthropicEvent struct {
		Type    string           `json:"type"`
		Message anthropicMessage `json:"message"`
		Delta   struct {
			Type       string `json:"type"`
			Text       string `json:"text"`
			StopReason string `json:"stop_reason"`
		} `json:"delta"`
		Usage anthropicUsage `json:"usage"`
	}
	geminiResponse struct {
		Candidates []struct {
			Content struct {
				Parts []struct {
					Text string `json:"text"`
				} `json:"parts"`
			} `json:"content"`
			FinishReason string `json:"finishReason"`
		} `json:"candidates"`
		UsageMetadata struct {
			PromptTokenCount        int64 `json:"promptTokenCount"`
			CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
			CachedContentTokenCount int64 `json:"cachedContentTokenCount"`
		} `json:"usageMetadata"`
		ModelVersion string `json:"modelVersion"`
	}
)

func decode[T any](t *testing.T, data string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(data), &v), "data: %s", data)
	return v
}

func readOpenAIChat(t *testing.T, body string) seen {
	c := decode[openAIChat](t, body)
	require.Equal(t, "chat.completion", c.Object)
	require.NotNil(t, c.Usage)
	return seen{Model: c.Model, Text: c.Choices[0].Message.Content,
		Input: c.Usage.PromptTokens, Cached: c.Usage.PromptTokensDetails.CachedTokens, Output: c.Usage.CompletionTokens}
}
