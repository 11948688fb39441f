package provider

import "math"

// BytesPerToken is the byte-to-token ratio the estimate assumes; see
// EstimateTokens for how well it holds.
const BytesPerToken = 4

// EstimateTokens estimates the tokens a request will use before it is
// sent: its prompt's text (PromptBytes) at BytesPerToken, rounded up, plus
// the output tokens it allows (MaxTokens). Rate limits admit requests on
// this estimate and settle the difference with the answer's actual usage.
//
// Measured against OpenAI's tokenizers on realistic chat requests
// (testdata/tokens; TestEstimateTokens_StaysWithinDocumentedBoundsOfRealTokenCounts
// holds the figures and asserts bounds around them), the prompt part is,
// as a multiple of the real prompt tokens with o200k_base (gpt-4o, gpt-4.1,
// gpt-5, o-series) and cl100k_base (gpt-4, gpt-3.5-turbo):
//
//	English prose          1.11–1.33x  1.11–1.33x  (overcounts)
//	chat with system turns 0.85–1.07x  0.83–1.05x
//	code                   0.78–1.00x  0.78–0.99x
//	JSON                   0.63–0.76x  0.63–0.77x  (undercounts up to 1.6x)
//	German, French, ...    1.01–1.15x  0.86–0.92x
//	Russian, Greek, Arabic, Hindi
//	                       1.27–2.05x  0.51–0.94x
//	Chinese, Japanese, Korean
//	                       0.99–1.11x  0.61–0.76x  (cl100k: undercounts up to 1.6x)
//
// Anthropic's and Gemini's tokenizers were not measured (they are not
// available offline); their counts differ from OpenAI's by script as these
// two do from each other, which is why no per-script weighting is applied.
//
// Negative fields count as 0, and the sum saturates at math.MaxInt64: an
// absurd max_tokens must not wrap around to a negative estimate, which
// the token limiter would wave through.
func EstimateTokens(r Request) int64 {
	tokens := EstimatePromptTokens(r)
	output := max(r.MaxTokens, 0)
	if output > math.MaxInt64-tokens {
		return math.MaxInt64
	}
	return tokens + output
}

// EstimatePromptTokens is the prompt part of EstimateTokens: the prompt's
// bytes at BytesPerToken, rounded up.
func EstimatePromptTokens(r Request) int64 {
	prompt := int64(max(r.PromptBytes, 0))
	tokens := prompt / BytesPerToken
	if prompt%BytesPerToken != 0 {
		tokens++
	}
	return tokens
}
