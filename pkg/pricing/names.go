package pricing

import "strings"

// versionSuffixes are the dated snapshot and version suffixes of model
// names, the parts a provider adds to the name of the model it prices,
// written as patterns in which 9 stands for any ASCII digit:
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
// an unknown price says so better than a wrong one. They are matched by
// hand rather than by a regular expression: every request's model is
// looked up, and a lookup costs no regexp and no allocation.
var versionSuffixes = []string{
	"-9999-99-99", "-99999999", "-9999", "-999", "-latest",
	"-preview", "-preview-99-99", "-preview-99-9999",
}

// maxSuffixes bounds how many suffixes are stripped from one name
// (gemini-2.5-pro-preview-06-05-latest would take two).
const maxSuffixes = 3

// maxCandidates is the most names candidates returns: the name, without
// the "models/" prefix, and maxSuffixes times shorter.
const maxCandidates = 2 + maxSuffixes

// candidates returns the names model is looked up by, most specific first:
// the name itself, without Gemini's "models/" resource prefix, then with
// one version suffix after another removed. Only whole suffixes are removed
// and every candidate must match a table entry exactly, so a name never
// matches a shorter model's entry by prefix: gpt-4o-mini is never gpt-4o.
func candidates(model string) []string {
	var buf [maxCandidates]string
	return append([]string(nil), appendCandidates(buf[:0], model)...)
}

// appendCandidates appends the candidates of model to names, which the
// caller can keep on its stack.
func appendCandidates(names []string, model string) []string {
	names = append(names, model)
	name := strings.TrimPrefix(model, "models/")
	if name != model {
		names = append(names, name)
	}
	for range maxSuffixes {
		i := versionSuffixAt(name)
		if i <= 0 {
			break
		}
		name = name[:i]
		names = append(names, name)
	}
	return names
}

// versionSuffixAt returns where the longest version suffix of name starts
// (0 when it is all of name), or -1 when name ends in none.
func versionSuffixAt(name string) int {
	at := -1
	for _, pattern := range versionSuffixes {
		i := len(name) - len(pattern)
		if i >= 0 && (at < 0 || i < at) && matches(name[i:], pattern) {
			at = i
		}
	}
	return at
}

// matches tells whether s is pattern, a 9 of pattern standing for any
// ASCII digit.
func matches(s, pattern string) bool {
	if len(s) != len(pattern) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if pattern[i] == '9' {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		} else if s[i] != pattern[i] {
			return false
		}
	}
	return true
}
