package cache

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIgnoredFields_EachSaysWhyItCannotChangeTheAnswer(t *testing.T) {
	for _, f := range ignoredFields {
		assert.NotEmpty(t, f.why, f.name)
		assert.NotEmpty(t, f.pathSuffixes, "%s is dropped for some APIs only", f.name)
	}
}

func TestIgnored_DropsMembersOnlyForTheAPIsThatDoNotEchoThem(t *testing.T) {
	tests := map[string]struct {
		path, name string
		want       bool
	}{
		"user of OpenAI chat":                   {"/v1/chat/completions", "user", true},
		"user of Azure chat":                    {"/openai/deployments/d/chat/completions", "user", true},
		"user of embeddings":                    {"/v1/embeddings", "user", true},
		"user of the Responses API":             {"/v1/responses", "user", false},
		"metadata of the Responses API":         {"/v1/responses", "metadata", false},
		"metadata of Anthropic messages":        {"/v1/messages", "metadata", true},
		"metadata of embeddings":                {"/v1/embeddings", "metadata", false},
		"store of chat":                         {"/v1/chat/completions", "store", false},
		"service_tier of chat":                  {"/v1/chat/completions", "service_tier", false},
		"stream_options of chat":                {"/v1/chat/completions", "stream_options", false},
		"anything of Gemini":                    {"/v1beta/models/m:generateContent", "user", false},
		"prompt_cache_key of chat":              {"/v1/chat/completions", "prompt_cache_key", true},
		"prompt_cache_key of the Responses API": {"/v1/responses", "prompt_cache_key", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, ignored(tc.path, tc.name))
		})
	}
}
