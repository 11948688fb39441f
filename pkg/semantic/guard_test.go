package semantic

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGuard(t *testing.T) {
	tests := map[string]struct {
		a, b string
		want string
	}{
		"a rewording":                       {"How do I reset my password?", "how can i reset my password", ""},
		"case and punctuation":              {"What's the capital of France?", "what's the capital of france", ""},
		"a negation added":                  {"Should I restart the server?", "Should I not restart the server?", GuardNegation},
		"a contracted negation":             {"Can I delete this file?", "Can't I delete this file?", GuardNegation},
		"both negated alike":                {"Why doesn't my build run?", "why does my build not run", ""},
		"on and off":                        {"How do I turn on dark mode?", "How do I turn off dark mode?", GuardPolarity},
		"enable and turn off":               {"How do I enable two-factor login?", "How do I turn off two-factor login?", GuardPolarity},
		"synonyms of one pole":              {"How do I enable dark mode?", "How do I turn on dark mode?", ""},
		"increase and decrease":             {"Increase the font size", "Decrease the font size", GuardPolarity},
		"before and after":                  {"Take the pill before meals?", "Take the pill after meals?", GuardPolarity},
		"a negating prefix":                 {"Is it legal to record calls?", "Is it illegal to record calls?", GuardPolarity},
		"another negating prefix":           {"Is the API available today?", "Is the API unavailable today?", GuardPolarity},
		"different numbers":                 {"Book a table for 4", "Book a table for 6", GuardNumbers},
		"a number in words and in digits":   {"Book a table for four", "Book a table for 4", ""},
		"different numbers in words":        {"Give me three ideas", "Give me five ideas", GuardNumbers},
		"leading zeros":                     {"Room 007", "Room 7", ""},
		"a word that merely starts with in": {"Install the app", "Install the app please", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, Guard(tc.a, tc.b))
			assert.Equal(t, tc.want, Guard(tc.b, tc.a), "symmetric")
		})
	}
}
