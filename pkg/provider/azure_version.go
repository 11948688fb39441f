package provider

import (
	"net/url"
	"strings"
	"time"
)

// firstStreamOptionsVersion is the first Azure OpenAI api-version whose
// chat completions take stream_options (2024-09-01-preview); earlier
// versions, 2024-06-01 GA among them, refuse the member with a 400.
var firstStreamOptionsVersion = time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)

// takesStreamOptions reports whether a chat request to the Azure OpenAI
// path (query included) may carry stream_options. A deployment URL
// (.../deployments/{name}/chat/completions) may when its api-version is
// dated 2024-09-01 or later (a -preview suffix counts by its date). Any
// other chat path is the v1 API (/openai/v1/chat/completions, or
// /chat/completions under a base URL that ends in /openai/v1), which has no
// dated versions and takes the option.
//
// A deployment URL without a readable api-version (none, "latest", a typo)
// gets no stream_options: Azure refuses such a URL itself, and its answer
// must be about the request the app wrote, not about a member Tollgate
// added. The stream's usage is then unknown.
func takesStreamOptions(path string) bool {
	if _, _, _, ok := azureDeployment(path); !ok {
		return true
	}
	_, rawQuery, _ := strings.Cut(path, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return false
	}
	v := q.Get("api-version")
	if len(v) < len(time.DateOnly) {
		return false
	}
	date, suffix := v[:len(time.DateOnly)], v[len(time.DateOnly):]
	if suffix != "" && !strings.HasPrefix(suffix, "-") {
		return false
	}
	d, err := time.Parse(time.DateOnly, date)
	return err == nil && !d.Before(firstStreamOptionsVersion)
}
