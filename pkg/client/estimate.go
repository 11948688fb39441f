package client

// bytesPerToken is the byte-to-token ratio the estimate assumes. English
// text averages about four bytes per token with the tokenizers of current
// OpenAI, Anthropic and Gemini models; code and other languages use more
// tokens per byte, which a later answer's usage corrects.
const bytesPerToken = 4

// EstimateTokens estimates the tokens a request will use before it is
// sent: its prompt's text at bytesPerToken, plus the output tokens it
// allows. Rate limits admit requests on this estimate and settle the
// difference with the answer's actual usage.
func EstimateTokens(r Request) int64 {
	return int64((r.PromptBytes+bytesPerToken-1)/bytesPerToken) + r.MaxTokens
}
