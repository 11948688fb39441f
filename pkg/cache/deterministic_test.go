package cache

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDeterministic_OnlyATemperatureSetToZero(t *testing.T) {
	tests := map[string]struct {
		body string
		want bool
	}{
		"OpenAI chat at temperature 0":                        {`{"model":"gpt-4o","temperature":0,"messages":[]}`, true},
		"OpenAI chat at temperature 0.0":                      {`{"model":"gpt-4o","temperature":0.0,"messages":[]}`, true},
		"OpenAI chat at temperature 0e3":                      {`{"model":"gpt-4o","temperature":0e3,"messages":[]}`, true},
		"OpenAI chat at temperature 0.2":                      {`{"model":"gpt-4o","temperature":0.2,"messages":[]}`, false},
		"OpenAI chat without temperature: the default is 1.0": {`{"model":"gpt-4o","messages":[]}`, false},
		"OpenAI chat with a null temperature":                 {`{"model":"gpt-4o","temperature":null,"messages":[]}`, false},
		"OpenAI chat with a string temperature":               {`{"model":"gpt-4o","temperature":"0","messages":[]}`, false},
		"OpenAI chat with a tiny temperature":                 {`{"model":"gpt-4o","temperature":1e-300,"messages":[]}`, false},
		"OpenAI chat at top_p 0 but no temperature":           {`{"model":"gpt-4o","top_p":0,"messages":[]}`, false},
		"a capitalized Temperature is not the temperature":    {`{"model":"gpt-4o","Temperature":0,"messages":[]}`, false},
		"OpenAI Responses at temperature 0":                   {`{"model":"gpt-4.1","temperature":0,"input":"hi"}`, true},
		"OpenAI Responses without temperature":                {`{"model":"gpt-4.1","input":"hi"}`, false},
		"Anthropic messages at temperature 0":                 {`{"model":"claude-sonnet-4-5","max_tokens":64,"temperature":0,"messages":[]}`, true},
		"Anthropic messages at temperature 1":                 {`{"model":"claude-sonnet-4-5","max_tokens":64,"temperature":1,"messages":[]}`, false},
		"Anthropic messages without temperature":              {`{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[]}`, false},
		"Gemini generateContent at generationConfig.temperature 0": {
			`{"contents":[],"generationConfig":{"temperature":0,"maxOutputTokens":10}}`, true,
		},
		"Gemini with the snake_case generation_config": {`{"contents":[],"generation_config":{"temperature":0}}`, true},
		"Gemini at generationConfig.temperature 0.9":   {`{"contents":[],"generationConfig":{"temperature":0.9}}`, false},
		"Gemini with a generationConfig but no temperature": {
			`{"contents":[],"generationConfig":{"maxOutputTokens":10}}`, false,
		},
		"Gemini without generationConfig":                      {`{"contents":[]}`, false},
		"Gemini with a generationConfig that is not an object": {`{"contents":[],"temperature":0,"generationConfig":[0]}`, false},
		"two temperatures that disagree":                       {`{"temperature":0,"generationConfig":{"temperature":1}}`, false},
		"two temperatures both 0":                              {`{"temperature":0,"generationConfig":{"temperature":0}}`, true},
		"a temperature nested elsewhere does not count":        {`{"messages":[{"temperature":0}]}`, false},
		"not JSON":     {`temperature=0`, false},
		"a JSON array": {`[{"temperature":0}]`, false},
		"empty":        {``, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, Deterministic([]byte(tc.body)))
		})
	}
}
