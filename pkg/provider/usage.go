package provider

import (
	"encoding/json"

	"tollgate.dev/tollgate/pkg/wire"
)

// The usage objects of each API, with only the members Tollgate prices.
// Counts decode leniently (tokenCount): an answer is never refused or
// mispriced over a strange number, and garbage reads as unknown usage.

// chatUsageJSON is usage in chat completions and embeddings answers.
type chatUsageJSON struct {
	PromptTokens        tokenCount `json:"prompt_tokens"`
	CompletionTokens    tokenCount `json:"completion_tokens"`
	PromptTokensDetails struct {
		CachedTokens tokenCount `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func (u *chatUsageJSON) usage() Usage {
	return Usage{
		InputTokens:       int64(u.PromptTokens),
		CachedInputTokens: int64(u.PromptTokensDetails.CachedTokens),
		OutputTokens:      int64(u.CompletionTokens),
		Known:             true,
	}
}

// responsesUsageJSON is usage in Responses API answers.
type responsesUsageJSON struct {
	InputTokens        tokenCount `json:"input_tokens"`
	OutputTokens       tokenCount `json:"output_tokens"`
	InputTokensDetails struct {
		CachedTokens tokenCount `json:"cached_tokens"`
	} `json:"input_tokens_details"`
}

func (u *responsesUsageJSON) usage() Usage {
	return Usage{
		InputTokens:       int64(u.InputTokens),
		CachedInputTokens: int64(u.InputTokensDetails.CachedTokens),
		OutputTokens:      int64(u.OutputTokens),
		Known:             true,
	}
}

// anthropicUsageJSON is usage in Anthropic messages and stream events.
// Pointers tell a member that is absent (or null) from a zero: a
// message_delta carries only the counts that changed.
type anthropicUsageJSON struct {
	InputTokens              *tokenCount `json:"input_tokens"`
	CacheCreationInputTokens *tokenCount `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *tokenCount `json:"cache_read_input_tokens"`
	OutputTokens             *tokenCount `json:"output_tokens"`
}

// anthropicCounts is Anthropic usage as it accumulates over a stream.
type anthropicCounts struct {
	input, cacheCreation, cacheRead, output int64
	known                                   bool
}

// merge takes every count u carries.
func (c *anthropicCounts) merge(u *anthropicUsageJSON) {
	take := func(dst *int64, src *tokenCount) {
		if src != nil {
			*dst = int64(*src)
		}
	}
	take(&c.input, u.InputTokens)
	take(&c.cacheCreation, u.CacheCreationInputTokens)
	take(&c.cacheRead, u.CacheReadInputTokens)
	take(&c.output, u.OutputTokens)
	c.known = true
}

// usage converts the counts: Anthropic's input_tokens leaves out the
// tokens read from and written to the cache, which are input all the same.
func (c *anthropicCounts) usage() Usage {
	if !c.known {
		return Usage{}
	}
	return Usage{
		InputTokens:       satAdd(satAdd(c.input, c.cacheRead), c.cacheCreation),
		CachedInputTokens: c.cacheRead,
		OutputTokens:      c.output,
		Known:             true,
	}
}

// geminiUsageJSON is Gemini's usageMetadata.
type geminiUsageJSON struct {
	PromptTokenCount        tokenCount `json:"promptTokenCount"`
	CachedContentTokenCount tokenCount `json:"cachedContentTokenCount"`
	CandidatesTokenCount    tokenCount `json:"candidatesTokenCount"`
	ThoughtsTokenCount      tokenCount `json:"thoughtsTokenCount"`
}

// usage converts usageMetadata: candidatesTokenCount leaves out thinking
// tokens, which are billed as output.
func (u *geminiUsageJSON) usage() Usage {
	return Usage{
		InputTokens:       int64(u.PromptTokenCount),
		CachedInputTokens: int64(u.CachedContentTokenCount),
		OutputTokens:      satAdd(int64(u.CandidatesTokenCount), int64(u.ThoughtsTokenCount)),
		Known:             true,
	}
}

// satAdd adds two non-negative counts, capping instead of overflowing.
func satAdd(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return 1<<63 - 1
}

// UsageMembers are the top-level members of a non-streamed answer (or of
// each element of an answer that is a JSON array) that Usage reads. A
// proxy that does not hold whole answers may give Usage a document of only
// these, as wire.Picker makes one.
var UsageMembers = []string{"usage", "usageMetadata"}

// chatUsage reads a chat completion's usage.
func chatUsage(body []byte) Usage {
	var b struct {
		Usage *chatUsageJSON `json:"usage"`
	}
	if json.Unmarshal(body, &b) != nil || b.Usage == nil {
		return Usage{}
	}
	return b.Usage.usage()
}

// embeddingsUsage reads an embeddings answer's usage: input only.
func embeddingsUsage(body []byte) Usage {
	u := chatUsage(body)
	u.OutputTokens = 0
	return u
}

// responsesUsage reads a Responses API answer's usage.
func responsesUsage(body []byte) Usage {
	var b struct {
		Usage *responsesUsageJSON `json:"usage"`
	}
	if json.Unmarshal(body, &b) != nil || b.Usage == nil {
		return Usage{}
	}
	return b.Usage.usage()
}

// anthropicUsage reads an Anthropic message's usage.
func anthropicUsage(body []byte) Usage {
	var b struct {
		Usage *anthropicUsageJSON `json:"usage"`
	}
	if json.Unmarshal(body, &b) != nil || b.Usage == nil {
		return Usage{}
	}
	var c anthropicCounts
	c.merge(b.Usage)
	return c.usage()
}

// geminiUsage reads a GenerateContentResponse's usageMetadata, or, for a
// streamGenerateContent answer without alt=sse (a JSON array of
// responses), the last one's: Gemini's counts are cumulative.
func geminiUsage(body []byte) Usage {
	type response struct {
		UsageMetadata *geminiUsageJSON `json:"usageMetadata"`
	}
	i := wire.SkipSpace(body, 0)
	if i < len(body) && body[i] == '[' {
		var all []response
		if json.Unmarshal(body, &all) != nil {
			return Usage{}
		}
		for j := len(all) - 1; j >= 0; j-- {
			if all[j].UsageMetadata != nil {
				return all[j].UsageMetadata.usage()
			}
		}
		return Usage{}
	}
	var b response
	if json.Unmarshal(body, &b) != nil || b.UsageMetadata == nil {
		return Usage{}
	}
	return b.UsageMetadata.usage()
}
