package pricing

import (
	"regexp"
	"strings"
)

// versionSuffix matches one dated snapshot or version suffix of a model
// name, the part a provider adds to the name of the model it prices:
//
//	-2024-08-06           OpenAI snapshots (gpt-4o-2024-08-06, o3-2025-04-16)
//	-20250929             Anthropic snapshots (claude-sonnet-4-5-20250929)
//	-0613                 older OpenAI snapshots (gpt-4-0613)
//	-001                  Gemini stable versions (gemini-2.0-flash-001)
//	-latest               moving aliases (claude-3-5-haiku-latest)
//	-preview[-06-17]      previews of a model (gemini-2.5-flash-lite-preview-06-17,
//	[-09-2025]            gemini-2.5-flash-preview-09-2025, o1-preview)
//
// Experimental names (-exp) are not stripped: those models were free, and
// an unknown price says so better than a wrong one.
var versionSuffix = regexp.MustCompile(`-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{3}|latest|preview(-\d{2}-\d{2}|-\d{2}-\d{4})?)$`)

// maxSuffixes bounds how many suffixes are stripped from one name
// (gemini-2.5-pro-preview-06-05-latest would take two).
const maxSuffixes = 3

// candidates returns the names model is looked up by, most specific first:
// the name itself, without Gemini's "models/" resource prefix, then with
// one version suffix after another removed. Only whole suffixes are removed
// and every candidate must match a table entry exactly, so a name never
// matches a shorter model's entry by prefix: gpt-4o-mini is never gpt-4o.
func candidates(model string) []string {
	names := []string{model}
	name := strings.TrimPrefix(model, "models/")
	if name != model {
		names = append(names, name)
	}
	for range maxSuffixes {
		loc := versionSuffix.FindStringIndex(name)
		if loc == nil || loc[0] == 0 {
			break
		}
		name = name[:loc[0]]
		names = append(names, name)
	}
	return names
}
