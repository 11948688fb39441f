package provider

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The usage readers as they were, with encoding/json alone: the decoders
// must give exactly what these give.

func chatUsageByJSON(body []byte) Usage {
	var b struct {
		Usage *chatUsageJSON `json:"usage"`
	}
	if json.Unmarshal(body, &b) != nil || b.Usage == nil {
		return Usage{}
	}
	return b.Usage.usage()
}

func responsesUsageByJSON(body []byte) Usage {
	var b struct {
		Usage *responsesUsageJSON `json:"usage"`
	}
	if json.Unmarshal(body, &b) != nil || b.Usage == nil {
		return Usage{}
	}
	return b.Usage.usage()
}

func anthropicUsageByJSON(body []byte) Usage {
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

// usageSeeds are usage documents of every shape, and the strange cases
// encoding/json decides in its own way.
var usageSeeds = []string{
	`{"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19,"prompt_tokens_details":{"cached_tokens":3,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2}}}`,
	`{"usage":{"prompt_tokens":"12","completion_tokens":7.0,"total_tokens":-3,"prompt_cache_hit_tokens":5}}`,
	`{"usage":{"prompt_tokens_details":null,"prompt_tokens_details":{"cached_tokens":null}}}`,
	`{"usage":{"prompt_tokens":1},"usage":{"completion_tokens":2}}`,
	`{"usage":{"prompt_tokens":1},"usage":null}`,
	`{"usage":{"prompt_tokens":1},"usage":null,"usage":{"completion_tokens":2}}`,
	`{"USAGE":{"Prompt_Tokens":4,"prompt_tokens":5}}`,
	`{"usage":{"prompt_tokens":4,"PROMPT_TOKENS":6}}`,
	`{"us\u0061ge":{"prompt_tokens":4}}`,
	`{"usage":{"prompt_tokens_details":5}}`,
	`{"usage":[1]}`,
	`{"usage":"x"}`,
	`{"usage":{"completion_tokens_details":"x","prompt_tokens":3}}`,
	`{"usage":{"prompt_tokens":1}`,
	`[{"usage":{"prompt_tokens":1}}]`,
	`null`,
	`{"usage":{"input_tokens":10,"output_tokens":5,"input_tokens_details":{"cached_tokens":2}}}`,
	`{"usage":{"input_tokens":10,"output_tokens":5,"output_tokens_details":{"reasoning_tokens":3}}}`,
	`{"usage":{"output_tokens":5,"output_tokens_details":{"reasoning_tokens":"x"}}}`,
	`{"usage":{"output_tokens":5,"output_tokens_details":null,"Output_Tokens_Details":{"Reasoning_Tokens":2}}}`,
	`{"usage":{"input_tokens":10,"cache_creation_input_tokens":null,"cache_read_input_tokens":4,"cache_creation":{"ephemeral_5m_input_tokens":1,"ephemeral_1h_input_tokens":2},"output_tokens":9}}`,
	`{"usage":{"input_tokens":null,"cache_creation":"bad","output_tokens":{"a":1}}}`,
	`{"usage":{"ınput_tokens":3}}`,
}

func TestUsageDecoders_ReadWhatEncodingJSONReads(t *testing.T) {
	seeds := append([]string(nil), usageSeeds...)
	paths, err := filepath.Glob(filepath.Join("testdata", "captures", "*.body"))
	require.NoError(t, err)
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil && !strings.HasPrefix(string(b), "data:") && !strings.HasPrefix(string(b), "event:") {
			seeds = append(seeds, string(b))
		}
	}
	for _, s := range seeds {
		in := []byte(s)
		assert.Equal(t, chatUsageByJSON(in), chatUsage(in), "chat %s", s)
		assert.Equal(t, responsesUsageByJSON(in), responsesUsage(in), "responses %s", s)
		assert.Equal(t, anthropicUsageByJSON(in), anthropicUsage(in), "anthropic %s", s)
	}
	var u chatUsageJSON
	has, ok := usageMember([]byte(usageSeeds[0]), "usage", func() { u = chatUsageJSON{} }, u.decode)
	require.True(t, ok, "a plain usage object is decoded without encoding/json")
	require.True(t, has)
	assert.Equal(t, int64(12), int64(u.PromptTokens))
}

func TestUsageDecoders_DoNotAllocate(t *testing.T) {
	in := []byte(usageSeeds[0])
	assert.Zero(t, testing.AllocsPerRun(100, func() { chatUsage(in) }))
}

// FuzzUsageDecoders holds the decoders to encoding/json: for any body,
// each reader gives the usage encoding/json gives, and a usage object
// decodes into the same struct.
func FuzzUsageDecoders(f *testing.F) {
	for _, s := range usageSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		require.Equal(t, chatUsageByJSON(in), chatUsage(in), "chat")
		require.Equal(t, responsesUsageByJSON(in), responsesUsage(in), "responses")
		require.Equal(t, anthropicUsageByJSON(in), anthropicUsage(in), "anthropic")
		var fast, slow chatUsageJSON
		okFast := decodeUsage(&fast, in, func() { fast = chatUsageJSON{} }, fast.decode)
		okSlow := json.Unmarshal(in, &slow) == nil
		require.Equal(t, okSlow, okFast, "decode of the object")
		if okSlow {
			require.Equal(t, slow, fast)
		}
	})
}
