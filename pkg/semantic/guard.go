package semantic

import (
	"slices"
	"strings"
	"unicode"
)

// Reasons Guard gives for telling two messages apart.
const (
	GuardNegation = "negation"
	GuardPolarity = "polarity"
	GuardNumbers  = "numbers"
)

// Guard tells apart two messages that an embedding scores as near
// duplicates although they ask opposite things. It returns "" when a and
// b may share an answer, else why not (GuardNegation, GuardPolarity,
// GuardNumbers):
//
//   - negation: they hold a different number of negations (not, no, never,
//     without, n't, ...);
//   - polarity: they hold different words of an axis of opposites
//     (on/off, enable/disable, increase/decrease, before/after, ...), or
//     one holds a word the other holds with a negating prefix
//     (legal/illegal, lock/unlock);
//   - numbers: they hold different numbers, in digits or (up to twenty)
//     in words.
//
// It is lexical and English-only: a paraphrase that drops a polarity word
// is refused too (a lower hit rate, never a wrong answer), and opposites
// it does not list pass to the threshold.
func Guard(a, b string) string {
	fa, fb := guardFeatures(a), guardFeatures(b)
	switch {
	case fa.negations != fb.negations:
		return GuardNegation
	case !slices.Equal(fa.polarity, fb.polarity) || prefixNegated(fa.words, fb.words) || prefixNegated(fb.words, fa.words):
		return GuardPolarity
	case !slices.Equal(fa.numbers, fb.numbers):
		return GuardNumbers
	}
	return ""
}

// Prepositions that double as poles ("in", "over", "out") are left out:
// paraphrases use them freely. "on" stays: "turn on" and "turn off" are
// the classic pair embeddings cannot tell apart.

// features are what Guard compares of one message.
type features struct {
	negations int
	polarity  []string // axis:pole, sorted, unique
	numbers   []string // sorted, with repeats
	words     map[string]bool
}

func guardFeatures(s string) features {
	f := features{words: map[string]bool{}}
	for _, w := range Words(s) {
		f.words[w] = true
		switch {
		case negations[w] || strings.HasSuffix(w, "n't"):
			f.negations++
		case isNumber(w):
			f.numbers = append(f.numbers, strings.TrimLeft(w, "0"))
		}
		if n, ok := numberWords[w]; ok {
			f.numbers = append(f.numbers, n)
		}
		if p, ok := poles[w]; ok && !slices.Contains(f.polarity, p) {
			f.polarity = append(f.polarity, p)
		}
	}
	slices.Sort(f.polarity)
	slices.Sort(f.numbers)
	return f
}

// prefixNegated reports whether a word of b is a word of a with a
// negating prefix (un-, in-, im-, il-, ir-, dis-, non-) that a lacks:
// "legal" and "illegal", "available" and "unavailable".
func prefixNegated(a, b map[string]bool) bool {
	for w := range b {
		for _, p := range negatingPrefixes {
			if rest, ok := strings.CutPrefix(w, p); ok && len(rest) >= 4 && a[rest] && !b[rest] {
				return true
			}
		}
	}
	return false
}

var negatingPrefixes = []string{"un", "in", "im", "il", "ir", "dis", "non"}

// Words splits s into lower-case words: runs of letters, digits and
// inner apostrophes (so that "don't" is one word, and 'good' is good).
func Words(s string) []string {
	s = strings.ReplaceAll(strings.ToLower(s), "’", "'")
	words := strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
	out := words[:0]
	for _, w := range words {
		if w = strings.Trim(w, "'"); w != "" {
			out = append(out, w)
		}
	}
	return out
}

func isNumber(w string) bool {
	for _, r := range w {
		if r < '0' || r > '9' {
			return false
		}
	}
	return w != ""
}

// negations are words that negate what follows them; words ending in
// n't are negations too.
var negations = map[string]bool{
	"not": true, "no": true, "never": true, "none": true, "nothing": true, "nobody": true,
	"nowhere": true, "neither": true, "nor": true, "without": true, "cannot": true,
	"cant": true, "dont": true, "doesnt": true, "didnt": true, "wont": true, "isnt": true,
	"arent": true, "wasnt": true, "shouldnt": true, "wouldnt": true, "couldnt": true,
}

// numberWords are numbers written out, as digits.
var numberWords = map[string]string{
	"zero": "", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
	"seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
	"thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
	"eighteen": "18", "nineteen": "19", "twenty": "20", "hundred": "100", "thousand": "1000",
	"million": "1000000", "billion": "1000000000",
}

// poles maps a word to its axis and pole: words of one axis and pole are
// interchangeable, of one axis and the other pole opposites.
var poles = func() map[string]string {
	axes := [][2][]string{
		{{"on", "enable", "enabled", "enabling", "activate", "activated", "start", "started", "starting", "open", "opened", "opening", "unlock", "unlocked", "connect", "connected", "install", "installed", "show", "visible"}, {"off", "disable", "disabled", "disabling", "deactivate", "deactivated", "stop", "stopped", "stopping", "close", "closed", "closing", "lock", "locked", "disconnect", "disconnected", "uninstall", "uninstalled", "hide", "hidden"}},
		{{"increase", "increasing", "raise", "more", "higher", "larger", "bigger", "grow", "up", "upgrade", "maximum", "max", "most", "faster", "longer"}, {"decrease", "decreasing", "lower", "less", "fewer", "smaller", "shrink", "down", "downgrade", "minimum", "min", "least", "slower", "shorter"}},
		{{"add", "adding", "create", "insert", "include", "including", "append", "join", "subscribe", "import", "upload", "push", "encrypt", "encode", "compress", "zip"}, {"remove", "removing", "delete", "deleting", "drop", "exclude", "excluding", "detach", "leave", "unsubscribe", "export", "download", "pull", "decrypt", "decode", "decompress", "unzip"}},
		{{"allow", "allowed", "accept", "accepted", "approve", "approved", "permit", "grant", "whitelist", "allowlist"}, {"deny", "denied", "reject", "rejected", "block", "blocked", "forbid", "revoke", "blacklist", "blocklist"}},
		{{"before", "earlier", "first", "previous", "past", "yesterday", "since"}, {"after", "later", "last", "next", "future", "tomorrow", "until"}},
		{{"above", "inside", "top"}, {"below", "under", "outside", "bottom"}},
		{{"buy", "buying", "purchase", "borrow", "receive", "import", "deposit", "credit", "win", "gain", "profit"}, {"sell", "selling", "lend", "send", "withdraw", "debit", "lose", "loss"}},
		{{"true", "yes", "correct", "right", "valid", "pass", "success", "positive", "plus", "safe"}, {"false", "wrong", "incorrect", "invalid", "fail", "failure", "negative", "minus", "dangerous"}},
		{{"hot", "warm", "warmer", "hotter", "heat"}, {"cold", "cool", "cooler", "colder", "freeze"}},
		{{"left", "west", "north"}, {"right", "east", "south"}},
		{{"cheap", "cheaper", "cheapest", "inexpensive"}, {"expensive", "costly", "pricier"}},
		{{"best", "better", "good"}, {"worst", "worse", "bad"}},
		{{"male", "man", "men", "he", "his", "him"}, {"female", "woman", "women", "she", "her", "hers"}},
	}
	m := map[string]string{}
	for i, axis := range axes {
		for pole, words := range axis {
			for _, w := range words {
				if _, dup := m[w]; !dup {
					m[w] = string(rune('a'+i)) + ":" + string(rune('0'+pole))
				}
			}
		}
	}
	return m
}()
