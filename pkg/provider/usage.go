package provider

import (
	"encoding/json"

	"tollgate.dev/tollgate/pkg/wire"
)

// The usage objects of each API, with only the members Tollgate prices.
// Counts decode leniently (tokenCount): an answer is never refused or
// mispriced over a strange number, and garbage reads as unknown usage.

// chatUsageJSON is usage in chat completions and embeddings answers, with
// the members OpenAI-compatible servers add where they count differently.
type chatUsageJSON struct {
	PromptTokens        tokenCount `json:"prompt_tokens"`
	CompletionTokens    tokenCount `json:"completion_tokens"`
	TotalTokens         tokenCount `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens presentCount `json:"cached_tokens"`
		// CacheWriteTokens is OpenRouter's count of prompt tokens written
		// to the provider's cache (Anthropic models behind it bill them
		// at the cache-write rate).
		CacheWriteTokens tokenCount `json:"cache_write_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens tokenCount `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
	// PromptCacheHitTokens is DeepSeek's count of cached prompt tokens,
	// which its answers carried before they had prompt_tokens_details.
	PromptCacheHitTokens presentCount `json:"prompt_cache_hit_tokens"`
}

// usage converts a chat usage object. OpenAI counts reasoning tokens in
// completion_tokens; xAI (and servers like it) count them beside it, so
// that total_tokens is prompt + completion + reasoning: exactly that sum
// says the reasoning tokens were left out, and they are added back, since
// they are billed as output.
func (u *chatUsageJSON) usage() Usage {
	cached := u.PromptTokensDetails.CachedTokens
	if !cached.present {
		cached = u.PromptCacheHitTokens
	}
	output := int64(u.CompletionTokens)
	reasoning := int64(u.CompletionTokensDetails.ReasoningTokens)
	if reasoning > 0 && satAdd(satAdd(int64(u.PromptTokens), output), reasoning) == int64(u.TotalTokens) {
		output = satAdd(output, reasoning)
	}
	return Usage{
		InputTokens:       int64(u.PromptTokens),
		CachedInputTokens: int64(cached.n),
		CacheWriteTokens:  int64(u.PromptTokensDetails.CacheWriteTokens),
		OutputTokens:      output,
		ReasoningTokens:   min(reasoning, output),
		Known:             true,
	}
}

// presentCount is a tokenCount that tells a member that is absent (or
// null) from a zero, without the allocation a pointer costs each parse.
type presentCount struct {
	n       tokenCount
	present bool
}

// UnmarshalJSON reads the count as tokenCount does.
func (c *presentCount) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	c.present = true
	return c.n.UnmarshalJSON(b)
}

// countOf is the count c points to, or 0 when the member was absent.
func countOf(c *tokenCount) int64 {
	if c == nil {
		return 0
	}
	return int64(*c)
}

// responsesUsageJSON is usage in Responses API answers.
type responsesUsageJSON struct {
	InputTokens        tokenCount `json:"input_tokens"`
	OutputTokens       tokenCount `json:"output_tokens"`
	InputTokensDetails struct {
		CachedTokens tokenCount `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokensDetails struct {
		ReasoningTokens tokenCount `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

func (u *responsesUsageJSON) usage() Usage {
	return Usage{
		InputTokens:       int64(u.InputTokens),
		CachedInputTokens: int64(u.InputTokensDetails.CachedTokens),
		OutputTokens:      int64(u.OutputTokens),
		ReasoningTokens:   min(int64(u.OutputTokensDetails.ReasoningTokens), int64(u.OutputTokens)),
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
	// CacheCreation splits the cache writes by lifetime, in answers since
	// the one-hour cache; without it every write is a 5-minute one.
	CacheCreation *anthropicCacheCreationJSON `json:"cache_creation"`
	OutputTokens  *tokenCount                 `json:"output_tokens"`
}

// anthropicCacheCreationJSON is the cache_creation member of Anthropic's
// usage.
type anthropicCacheCreationJSON struct {
	Ephemeral5m *tokenCount `json:"ephemeral_5m_input_tokens"`
	Ephemeral1h *tokenCount `json:"ephemeral_1h_input_tokens"`
}

// UnmarshalJSON reads the breakdown leniently, like the counts: a
// breakdown of the wrong shape is no breakdown, not unknown usage.
func (c *anthropicCacheCreationJSON) UnmarshalJSON(b []byte) error {
	type plain anthropicCacheCreationJSON
	var p plain
	if json.Unmarshal(b, &p) == nil {
		*c = anthropicCacheCreationJSON(p)
	}
	return nil
}

// anthropicCounts is Anthropic usage as it accumulates over a stream.
type anthropicCounts struct {
	input, cacheRead, output int64
	// cacheWrite is every token written to the cache; cacheWrite1h the
	// part of it written to the one-hour cache.
	cacheWrite, cacheWrite1h int64
	known                    bool
}

// merge takes every count u carries. A message_delta repeats
// cache_creation_input_tokens without the breakdown, which message_start
// gave: the one-hour part is kept from it.
func (c *anthropicCounts) merge(u *anthropicUsageJSON) {
	take := func(dst *int64, src *tokenCount) {
		if src != nil {
			*dst = int64(*src)
		}
	}
	take(&c.input, u.InputTokens)
	take(&c.cacheWrite, u.CacheCreationInputTokens)
	take(&c.cacheRead, u.CacheReadInputTokens)
	take(&c.output, u.OutputTokens)
	if cc := u.CacheCreation; cc != nil {
		take(&c.cacheWrite1h, cc.Ephemeral1h)
		if u.CacheCreationInputTokens == nil && (cc.Ephemeral5m != nil || cc.Ephemeral1h != nil) {
			c.cacheWrite = satAdd(countOf(cc.Ephemeral5m), countOf(cc.Ephemeral1h))
		}
	}
	c.known = true
}

// usage converts the counts: Anthropic's input_tokens leaves out the
// tokens read from and written to the cache, which are input all the same.
// The total of cache writes is the one billed; the breakdown only says
// which part of it is the one-hour cache's.
func (c *anthropicCounts) usage() Usage {
	if !c.known {
		return Usage{}
	}
	write1h := min(c.cacheWrite1h, c.cacheWrite)
	return Usage{
		InputTokens:        satAdd(satAdd(c.input, c.cacheRead), c.cacheWrite),
		CachedInputTokens:  c.cacheRead,
		CacheWriteTokens:   c.cacheWrite - write1h,
		CacheWrite1hTokens: write1h,
		OutputTokens:       c.output,
		Known:              true,
	}
}

// geminiUsageJSON is Gemini's usageMetadata.
type geminiUsageJSON struct {
	PromptTokenCount        tokenCount `json:"promptTokenCount"`
	CachedContentTokenCount tokenCount `json:"cachedContentTokenCount"`
	// ToolUsePromptTokenCount is the prompt the model's tools added (URL
	// context pages, Google Search results): input that promptTokenCount
	// leaves out.
	ToolUsePromptTokenCount tokenCount `json:"toolUsePromptTokenCount"`
	CandidatesTokenCount    tokenCount `json:"candidatesTokenCount"`
	ThoughtsTokenCount      tokenCount `json:"thoughtsTokenCount"`
}

// usage converts usageMetadata: promptTokenCount counts the cached content
// but not the tools' prompt, and candidatesTokenCount leaves out thinking
// tokens; both left-out counts are billed, as input and output.
func (u *geminiUsageJSON) usage() Usage {
	return Usage{
		InputTokens:       satAdd(int64(u.PromptTokenCount), int64(u.ToolUsePromptTokenCount)),
		CachedInputTokens: int64(u.CachedContentTokenCount),
		OutputTokens:      satAdd(int64(u.CandidatesTokenCount), int64(u.ThoughtsTokenCount)),
		ReasoningTokens:   int64(u.ThoughtsTokenCount),
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

// usageByJSON decodes the top-level "usage" member of body with
// encoding/json, for what the fast decoders leave to it (usageMember's ok
// false). has is false when there is none: absent, null, or body does not
// decode.
func usageByJSON[U any](body []byte) (u U, has bool) {
	var b struct {
		Usage *U `json:"usage"`
	}
	if json.Unmarshal(body, &b) != nil || b.Usage == nil {
		return u, false
	}
	return *b.Usage, true
}

// chatUsage reads a chat completion's usage.
func chatUsage(body []byte) Usage {
	var u chatUsageJSON
	has, ok := usageMember(body, "usage", func() { u = chatUsageJSON{} }, u.decode)
	if !ok {
		u, has = usageByJSON[chatUsageJSON](body)
	}
	if !has {
		return Usage{}
	}
	return u.usage()
}

// embeddingsUsage reads an embeddings answer's usage: input only.
func embeddingsUsage(body []byte) Usage {
	u := chatUsage(body)
	u.OutputTokens = 0
	return u
}

// responsesUsage reads a Responses API answer's usage.
func responsesUsage(body []byte) Usage {
	var u responsesUsageJSON
	has, ok := usageMember(body, "usage", func() { u = responsesUsageJSON{} }, u.decode)
	if !ok {
		u, has = usageByJSON[responsesUsageJSON](body)
	}
	if !has {
		return Usage{}
	}
	return u.usage()
}

// anthropicUsage reads an Anthropic message's usage.
func anthropicUsage(body []byte) Usage {
	var u anthropicUsageJSON
	has, ok := usageMember(body, "usage", func() { u = anthropicUsageJSON{} }, u.decode)
	if !ok {
		u, has = usageByJSON[anthropicUsageJSON](body)
	}
	if !has {
		return Usage{}
	}
	var c anthropicCounts
	c.merge(&u)
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
