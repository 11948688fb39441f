package llmclient

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanonicalPath_KeepsWhatTheAppSentInItsOneForm(t *testing.T) {
	tests := map[string]struct {
		path string
		want string
	}{
		"a plain path is kept":                              {path: "/openai/v1/chat/completions", want: "/openai/v1/chat/completions"},
		"an escape is kept as sent, not escaped again":      {path: "/openai/v1/files/file%20abc", want: "/openai/v1/files/file%20abc"},
		"an escaped unreserved character is decoded":        {path: "/openai/v1/chat/complet%69ons", want: "/openai/v1/chat/completions"},
		"an escaped dot inside a name is decoded":           {path: "/azure/openai/deployments/gpt-4%2e1/chat/completions", want: "/azure/openai/deployments/gpt-4.1/chat/completions"},
		"the hex digits of an escape are upper-cased":       {path: "/openai/v1/files/a%3fb", want: "/openai/v1/files/a%3Fb"},
		"a byte that may not appear in a path is escaped":   {path: "/openai/v1/files/a|b", want: "/openai/v1/files/a%7Cb"},
		"sub-delims, colons and dots inside names are kept": {path: "/gemini/v1beta/models/gemini-2.0-flash:generateContent", want: "/gemini/v1beta/models/gemini-2.0-flash:generateContent"},
		"a provider with no path after it is kept":          {path: "/openai", want: "/openai"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := canonicalPath(tc.path)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCanonicalPath_RefusesWhatServersOnTheWayReadDifferently(t *testing.T) {
	tests := map[string]struct {
		path    string
		wantErr string
	}{
		"a dot-dot segment at the end":            {path: "/openai/v1/chat/completions/x/..", wantErr: "has a dot segment (..)"},
		"a dot-dot segment above the provider":    {path: "/openai/../admin", wantErr: "has a dot segment (..)"},
		"a dot segment":                           {path: "/openai/./v1/models", wantErr: "has a dot segment (.)"},
		"a dot-dot segment percent-encoded":       {path: "/openai/v1/chat/completions/x/%2e%2E", wantErr: "has a dot segment (..)"},
		"a dot-dot segment half encoded":          {path: "/openai/v1/chat/completions/x/.%2e", wantErr: "has a dot segment (..)"},
		"a dot-dot segment with a parameter":      {path: "/openai/v1/chat/completions/x/..;a=b", wantErr: "has a dot segment (..;a=b)"},
		"an Azure deployment bent by a dot-dot":   {path: "/azure/openai/deployments/gpt-4o-mini/../gpt-4o/chat/completions", wantErr: "has a dot segment (..)"},
		"an empty segment":                        {path: "/openai/v1//chat/completions", wantErr: "has an empty segment"},
		"a trailing slash":                        {path: "/openai/v1/chat/completions/", wantErr: "has an empty segment"},
		"an encoded slash":                        {path: "/azure/openai/deployments/gpt-4o-mini%2F..%2Fgpt-4o/chat/completions", wantErr: "encodes a slash (%2F)"},
		"an encoded slash in lower case":          {path: "/openai/v1/files/a%2fb", wantErr: "encodes a slash (%2F)"},
		"an encoded backslash":                    {path: "/openai/v1/files/a%5cb", wantErr: "encodes a backslash (%5C)"},
		"a backslash":                             {path: `/openai/v1/chat/completions\..\x`, wantErr: "has a backslash"},
		"an encoded colon, Gemini's method mark":  {path: "/gemini/v1beta/models/gemini-2.0-flash%3AgenerateContent", wantErr: "encodes a colon (%3A)"},
		"an encoded NUL":                          {path: "/openai/v1/files/a%00b", wantErr: "encodes a NUL byte (%00)"},
		"a malformed escape":                      {path: "/openai/v1/files/a%zz", wantErr: "malformed percent-encoding"},
		"a path that does not start with a slash": {path: "*", wantErr: "does not start with /"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := canonicalPath(tc.path)
			require.ErrorIs(t, err, errPath)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestRequestPath_IsThePathAsSentEvenWhereNetURLWouldReescapeIt(t *testing.T) {
	// net/url's EscapedPath re-escapes the whole path when it holds a byte
	// it does not expect ("|"), which turns "%2F" into a separator.
	u, err := url.ParseRequestURI("/openai/v1/files/a%2Fb|c")
	require.NoError(t, err)
	assert.Equal(t, "/openai/v1/files/a/b%7Cc", u.EscapedPath())
	assert.Equal(t, "/openai/v1/files/a%2Fb|c", requestPath(u))
}

func TestUpstreamURL_SendsTheCanonicalPathOnTheRequestLine(t *testing.T) {
	base, err := url.Parse("http://127.0.0.1:9/base")
	require.NoError(t, err)
	u, err := upstreamURL(base, "/v1/files/file%20abc%3F", "purpose=x%20y")
	require.NoError(t, err)
	assert.Equal(t, "/base/v1/files/file%20abc%3F?purpose=x%20y", u.RequestURI())
	assert.Equal(t, "http://127.0.0.1:9/base/v1/files/file%20abc%3F?purpose=x%20y", u.String())
}
