package mockprovider

import "iter"

// Gemini generateContent: https://ai.google.dev/api/generate-content

type geminiResponse struct {
	Candidates    []geminiCandidate `json:"candidates"`
	UsageMetadata geminiUsage       `json:"usageMetadata"`
	ModelVersion  string            `json:"modelVersion"`
	ResponseID    string            `json:"responseId"`
}

type geminiCandidate struct {
	Content      geminiContent `json:"content"`
	FinishReason string        `json:"finishReason,omitempty"`
	Index        int           `json:"index"`
}

type geminiContent struct {
	Parts []geminiPart `json:"parts"`
	Role  string       `json:"role"`
}

type geminiPart struct {
	Text string `json:"text"`
}

type geminiUsage struct {
	PromptTokenCount        int64 `json:"promptTokenCount"`
	CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
	TotalTokenCount         int64 `json:"totalTokenCount"`
	CachedContentTokenCount int64 `json:"cachedContentTokenCount,omitempty"`
}

// geminiUsageOf is u with output tokens as generated so far.
func geminiUsageOf(u Usage, output int64) geminiUsage {
	return geminiUsage{
		PromptTokenCount:        u.InputTokens,
		CandidatesTokenCount:    output,
		TotalTokenCount:         u.InputTokens + output,
		CachedContentTokenCount: u.CachedInputTokens,
	}
}

func geminiAnswer(c *call, e *encoder) reply {
	if c.stream {
		ct := contentSSE
		if !c.sse {
			ct = contentJSON
		}
		return reply{contentType: ct, events: geminiStream(c, e)}
	}
	return reply{contentType: contentJSON, body: e.json(&geminiResponse{
		Candidates: []geminiCandidate{{
			Content:      geminiContent{Parts: []geminiPart{{Text: c.st.text}}, Role: "model"},
			FinishReason: "STOP",
		}},
		UsageMetadata: geminiUsageOf(c.st.usage, c.st.usage.OutputTokens),
		ModelVersion:  c.model,
		ResponseID:    id("mock", c.seq),
	})}
}

// geminiStream yields one response per delta, each with usageMetadata
// counting the output so far, the last with finishReason STOP. With
// alt=sse they are "data:" events; without, elements of a JSON array
// streamed as it is written, as the real API does.
func geminiStream(c *call, e *encoder) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		deltas := c.st.deltas
		if len(deltas) == 0 {
			deltas = []string{""} // the finishReason still needs a chunk
		}
		part := make([]geminiPart, 1)
		chunk := geminiResponse{
			Candidates:   []geminiCandidate{{Content: geminiContent{Parts: part, Role: "model"}}},
			ModelVersion: c.model,
			ResponseID:   id("mock", c.seq),
		}
		u, n := c.st.usage, int64(len(deltas))
		for i, text := range deltas {
			part[0].Text = text
			chunk.UsageMetadata = geminiUsageOf(u, u.OutputTokens*int64(i+1)/n)
			if i == len(deltas)-1 {
				chunk.Candidates[0].FinishReason = "STOP"
			}
			if c.sse {
				if !yield(e.event("", &chunk)) {
					return
				}
				continue
			}
			sep := ",\r\n"
			if i == 0 {
				sep = "["
			}
			if !yield(e.element(sep, &chunk)) {
				return
			}
		}
		if !c.sse {
			yield(arrayEnd)
		}
	}
}

// arrayEnd closes a streamed JSON array.
var arrayEnd = []byte("]")
