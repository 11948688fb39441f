package mockprovider

import (
	"hash/fnv"
	"math"
	"strings"
	"unicode"
)

// DefaultEmbeddingDimensions is the length of the mock's embeddings when
// the request asks for none (OpenAI's "dimensions").
const DefaultEmbeddingDimensions = 256

// Embed is the mock's embedding of text: deterministic, and shaped so
// that it behaves roughly like a real embedding model on the things the
// semantic cache cares about, without being one. It is a signed feature
// hash (the "hashing trick") of
//
//   - words, lower-cased, with contractions expanded ("what's" is "what
//     is") and a crude English stemmer ("resetting", "resets" and "reset"
//     are one word); common function words weigh a quarter;
//   - word pairs in order, at half weight, so that word order counts a
//     little (a real model's does);
//   - character trigrams of each word, at its weight spread over them,
//     so that a typo or an inflection keeps part of a word's features
//     (less than a real model's subword tokens keep: the evaluation's
//     typo pairs score low);
//
// into dims dimensions (DefaultEmbeddingDimensions when dims <= 0), at
// unit length. What it is not: it knows no synonyms ("car" and
// "automobile" are unrelated to it), no meaning beyond shared words and
// spellings, no other language than by its letters. Like a real model it
// scores "turn on the lights" and "turn off the lights" as close, because
// they share most of their words: that is what the semantic cache's guard
// and threshold must handle. An empty text gets a fixed vector.
func Embed(text string, dims int) []float32 {
	if dims <= 0 {
		dims = DefaultEmbeddingDimensions
	}
	v := make([]float64, dims)
	add := func(feature string, weight float64) {
		h := fnv.New64a()
		_, _ = h.Write([]byte(feature))
		sum := h.Sum64()
		sign := 1.0
		if sum>>63 == 1 {
			sign = -1
		}
		v[sum%uint64(dims)] += sign * weight
	}
	words := embedWords(text)
	for i, w := range words {
		weight := 1.0
		if functionWords[w] {
			weight = 0.25
		}
		add("w:"+w, weight)
		if i > 0 {
			add("b:"+words[i-1]+" "+w, 0.5*min(weight, wordWeight(words[i-1])))
		}
		padded := []rune("<" + w + ">")
		if n := len(padded) - 2; n > 0 {
			for j := 0; j+3 <= len(padded); j++ {
				add("c:"+string(padded[j:j+3]), weight/float64(n))
			}
		}
	}
	if len(words) == 0 {
		add("empty", 1)
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	out := make([]float32, dims)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

func wordWeight(w string) float64 {
	if functionWords[w] {
		return 0.25
	}
	return 1
}

// embedWords splits text into normalised, stemmed words.
func embedWords(text string) []string {
	text = strings.ToLower(strings.ReplaceAll(text, "’", "'"))
	var out []string
	for _, w := range strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	}) {
		for _, part := range expand(w) {
			if part = stem(strings.Trim(part, "'")); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// expand spells out an English contraction.
func expand(w string) []string {
	switch {
	case w == "can't", w == "cannot":
		return []string{"can", "not"}
	case w == "won't":
		return []string{"will", "not"}
	case strings.HasSuffix(w, "n't"):
		return []string{strings.TrimSuffix(w, "n't"), "not"}
	case strings.HasSuffix(w, "'s"):
		return []string{strings.TrimSuffix(w, "'s"), "is"}
	case strings.HasSuffix(w, "'re"):
		return []string{strings.TrimSuffix(w, "'re"), "are"}
	case strings.HasSuffix(w, "'ll"):
		return []string{strings.TrimSuffix(w, "'ll"), "will"}
	case strings.HasSuffix(w, "'ve"):
		return []string{strings.TrimSuffix(w, "'ve"), "have"}
	case strings.HasSuffix(w, "'m"):
		return []string{strings.TrimSuffix(w, "'m"), "am"}
	}
	return []string{w}
}

// stem strips common English suffixes from words long enough to keep a
// stem of four letters: "resetting" and "resets" become "reset".
func stem(w string) string {
	for _, suffix := range []string{"ing", "ed", "es", "s"} {
		if rest, ok := strings.CutSuffix(w, suffix); ok && len(rest) >= 4 && !strings.HasSuffix(w, "ss") {
			if n := len(rest); n >= 2 && rest[n-1] == rest[n-2] && suffix != "s" && suffix != "es" {
				rest = rest[:n-1] // "resetting" -> "resett" -> "reset"
			}
			return rest
		}
	}
	return w
}

// functionWords weigh little in an embedding, as they do in a real one.
var functionWords = map[string]bool{
	"a": true, "an": true, "the": true, "is": true, "are": true, "am": true, "be": true, "to": true,
	"of": true, "in": true, "for": true, "and": true, "or": true, "i": true, "my": true, "me": true,
	"you": true, "your": true, "it": true, "this": true, "that": true, "do": true, "does": true,
	"can": true, "could": true, "would": true, "will": true, "please": true, "with": true, "at": true,
	"by": true, "from": true, "how": true, "what": true, "which": true, "should": true, "we": true,
	"our": true, "have": true, "has": true, "there": true, "some": true, "any": true, "as": true,
}
