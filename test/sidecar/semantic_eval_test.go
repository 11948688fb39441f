package sidecare2e

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"tollgate.dev/tollgate/internal/testkit/proc"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the semantic cache evaluation in README.md from this run")

// evalThresholds are the thresholds the evaluation reports; the last is
// the default.
var evalThresholds = []string{"0.85", "0.90", "0.95"}

// evalPair is one labelled pair of testdata/semantic-pairs.yaml.
type evalPair struct {
	Label string `json:"label"` // same or different
	Kind  string `json:"kind"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// evalOutcome is what the sidecar did with a pair's second message.
type evalOutcome struct {
	hit        bool
	similarity float64
	guard      string
}

// evalScore is the evaluation at one threshold.
type evalScore struct {
	threshold            string
	tp, fp, fn, tn       int
	wrongHits            []int // pair indexes
	guardDiff, guardSame int   // pairs whose best candidate passed the threshold but not the guard
	// closest is the pair of different intents the embedder scored most
	// similar, and closestSim its similarity.
	closest    int
	closestSim float64
	sims       []float64 // every pair's similarity
	// rightByKind counts the right hits by kind.
	rightByKind map[string]int
}

func (s evalScore) precision() float64 { return ratio(s.tp, s.tp+s.fp) }
func (s evalScore) recall() float64    { return ratio(s.tp, s.tp+s.fn) }

func ratio(n, d int) float64 {
	if d == 0 {
		return 1
	}
	return float64(n) / float64(d)
}

// TestSemanticCache_Evaluation runs every labelled pair of
// testdata/semantic-pairs.yaml through the real sidecar, against the mock
// provider's deterministic embedder (mockprovider.Embed), at each of
// evalThresholds: the first message of a pair is asked and answered, then
// the second, and the pair counts as a hit when the second got
// X-Tollgate-Cache: semantic-hit. Each pair has a system prompt of its
// own, so that no pair's answer can serve another's. It computes
// precision and recall, checks README.md's table against them (rewrite it
// with -update-readme), and checks that the default threshold serves no
// pair that differs by a negation or a listed opposite.
func TestSemanticCache_Evaluation(t *testing.T) {
	pairs := loadPairs(t)
	mock := startMock(t)
	var scores []evalScore
	outcomes := map[string][]evalOutcome{}
	for _, th := range evalThresholds {
		sc := startWithSpec(t, mock, `
  cache:
    semantic:
      embedding: {provider: openai, model: text-embedding-3-small}
      threshold: "`+th+`"
      maxEntries: 1000
`)
		out := runPairs(t, sc, pairs, th)
		outcomes[th] = out
		scores = append(scores, score(th, pairs, out))
	}

	table := evalTable(pairs, scores)
	readme := filepath.Join(repoRoot(t), "README.md")
	if *updateReadme {
		writeSection(t, readme, table)
	}
	data, err := os.ReadFile(readme)
	require.NoError(t, err)
	assert.Contains(t, string(data), table, "README.md's semantic cache evaluation is stale: run go test ./test/sidecar -run TestSemanticCache_Evaluation -update-readme")

	def := scores[len(scores)-1]
	for _, i := range def.wrongHits {
		assert.NotContains(t, []string{"negation", "polarity", "number"}, pairs[i].Kind,
			"the default threshold served pair %d (%s), %q for %q", i+1, pairs[i].Kind, pairs[i].B, pairs[i].A)
	}
	for i, p := range pairs {
		if p.Kind == "case" {
			assert.True(t, outcomes[evalThresholds[len(evalThresholds)-1]][i].hit, "pair %d (%s) differs in case and punctuation only", i+1, p.Kind)
		}
	}
}

func loadPairs(t *testing.T) []evalPair {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "semantic-pairs.yaml"))
	require.NoError(t, err)
	var file struct {
		Pairs []evalPair `json:"pairs"`
	}
	require.NoError(t, yaml.UnmarshalStrict(data, &file))
	kinds := map[string][]string{"same": {"case", "filler", "typo", "order", "contraction", "reword"}, "different": {"topic", "entity", "negation", "polarity", "number", "opposite"}}
	counts := map[string]int{}
	for i, p := range file.Pairs {
		require.Contains(t, kinds[p.Label], p.Kind, "pair %d: label %q, kind %q", i+1, p.Label, p.Kind)
		require.NotEqual(t, p.A, p.B, "pair %d", i+1)
		counts[p.Label]++
	}
	require.GreaterOrEqual(t, len(file.Pairs), 100)
	require.GreaterOrEqual(t, counts["same"], 40)
	require.GreaterOrEqual(t, counts["different"], 40)
	return file.Pairs
}

// runPairs asks every pair's first message, waits until their answers
// are stored, then asks every second message, four at a time.
func runPairs(t *testing.T, sc *sidecar, pairs []evalPair, th string) []evalOutcome {
	t.Helper()
	c := sc.openAI()
	ask := func(i int, msg, id string) string {
		var raw *http.Response
		_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model:       "gpt-4o-mini",
			Temperature: openai.Float(0),
			Messages: []openai.ChatCompletionMessageParamUnion{
				openai.SystemMessage(fmt.Sprintf("You answer evaluation pair %d.", i+1)),
				openai.UserMessage(msg),
			},
		}, requestID(id), option.WithResponseInto(&raw))
		if err != nil {
			t.Errorf("pair %d: %v", i+1, err)
			return ""
		}
		return raw.Header.Get("X-Tollgate-Cache")
	}
	parallel := func(fn func(i int)) {
		var wg sync.WaitGroup
		next := make(chan int)
		for range 4 {
			wg.Go(func() {
				for i := range next {
					fn(i)
				}
			})
		}
		for i := range pairs {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	parallel(func(i int) { ask(i, pairs[i].A, fmt.Sprintf("eval-%s-%d-a", th, i)) })
	sc.awaitMetric(float64(len(pairs)), "tollgate_semantic_cache_lookups_total", "result", "miss")
	headers := make([]string, len(pairs))
	parallel(func(i int) { headers[i] = ask(i, pairs[i].B, fmt.Sprintf("eval-%s-%d-b", th, i)) })
	sc.awaitMetric(float64(2*len(pairs)), "tollgate_semantic_cache_lookups_total")

	// The metric counts a request before its log line is written (request
	// lines are written in batches): wait for every line.
	lines := map[string]map[string]any{}
	require.Eventually(t, func() bool {
		for _, l := range sc.logs.JSONLines() {
			if id, ok := l["request_id"].(string); ok && l["msg"] == "request" {
				lines[id] = l
			}
		}
		for i := range pairs {
			if lines[fmt.Sprintf("eval-%s-%d-b", th, i)] == nil {
				return false
			}
		}
		return true
	}, 5*time.Second, 10*time.Millisecond, "a request log line of every pair")
	out := make([]evalOutcome, len(pairs))
	for i := range pairs {
		l := lines[fmt.Sprintf("eval-%s-%d-b", th, i)]
		require.NotNil(t, l, "pair %d: no log line", i+1)
		require.NotEqual(t, "error", l["semantic"], "pair %d: the embedding failed", i+1)
		out[i].hit = headers[i] == "semantic-hit"
		out[i].similarity, _ = l["similarity"].(float64)
		out[i].guard, _ = l["semantic_guard"].(string)
		require.Equal(t, out[i].hit, l["semantic"] == "hit", "pair %d: the header and the log agree", i+1)
	}
	return out
}

func score(th string, pairs []evalPair, out []evalOutcome) evalScore {
	s := evalScore{threshold: th, closest: -1, sims: make([]float64, len(pairs)), rightByKind: map[string]int{}}
	for i, p := range pairs {
		s.sims[i] = out[i].similarity
		if p.Label == "different" && out[i].similarity > s.closestSim {
			s.closest, s.closestSim = i, out[i].similarity
		}
		same := p.Label == "same"
		switch {
		case same && out[i].hit:
			s.tp++
			s.rightByKind[p.Kind]++
		case same:
			s.fn++
		case out[i].hit:
			s.fp++
			s.wrongHits = append(s.wrongHits, i)
		default:
			s.tn++
		}
		if out[i].guard != "" {
			if same {
				s.guardSame++
			} else {
				s.guardDiff++
			}
		}
	}
	return s
}

const (
	evalBegin = "<!-- semantic-eval:begin (generated by TestSemanticCache_Evaluation -update-readme) -->"
	evalEnd   = "<!-- semantic-eval:end -->"
)

// evalTable renders the README section, markers included.
func evalTable(pairs []evalPair, scores []evalScore) string {
	same, diff := 0, 0
	kinds := map[string]int{}
	for _, p := range pairs {
		if p.Label == "same" {
			same++
		} else {
			diff++
		}
		kinds[p.Kind]++
	}
	var b strings.Builder
	b.WriteString(evalBegin + "\n")
	fmt.Fprintf(&b, "%d pairs: %d of the same intent, %d of different intents (", len(pairs), same, diff)
	var parts []string
	for _, k := range []string{"topic", "entity", "negation", "polarity", "number", "opposite"} {
		parts = append(parts, fmt.Sprintf("%d %s", kinds[k], k))
	}
	b.WriteString(strings.Join(parts, ", ") + ").\n\n")
	b.WriteString("| threshold | precision | recall | right hits | right hits by kind | wrong hits | wrong hits by kind | refused by the guard: different / same |\n")
	b.WriteString("| --: | --: | --: | --: | --- | --: | --- | --: |\n")
	for _, s := range scores {
		var right []string
		for _, k := range []string{"case", "filler", "typo", "order", "contraction", "reword"} {
			right = append(right, fmt.Sprintf("%s %d/%d", k, s.rightByKind[k], kinds[k]))
		}
		byKind := map[string]int{}
		for _, i := range s.wrongHits {
			byKind[pairs[i].Kind]++
		}
		var wrong []string
		for _, k := range slices.Sorted(maps.Keys(byKind)) {
			wrong = append(wrong, fmt.Sprintf("%s %d", k, byKind[k]))
		}
		if len(wrong) == 0 {
			wrong = []string{"none"}
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %d | %s | %d | %s | %d / %d |\n", s.threshold, s.precision(), s.recall(), s.tp, strings.Join(right, ", "), s.fp, strings.Join(wrong, ", "), s.guardDiff, s.guardSame)
	}
	b.WriteString("\n")
	for _, s := range scores {
		if len(s.wrongHits) == 0 {
			fmt.Fprintf(&b, "- %s: no pair of different intents served.\n", s.threshold)
			continue
		}
		fmt.Fprintf(&b, "- %s: wrong hits:", s.threshold)
		for j, i := range s.wrongHits {
			sep := ";"
			if j == len(s.wrongHits)-1 {
				sep = "."
			}
			fmt.Fprintf(&b, " %q for %q (%s, %.4f)%s", pairs[i].B, pairs[i].A, pairs[i].Kind, s.sims[i], sep)
		}
		b.WriteString("\n")
	}
	if c := scores[0]; c.closest >= 0 {
		fmt.Fprintf(&b, "\nThe pair of different intents the embedder scored closest: %q and %q (%s), %.4f.\n",
			pairs[c.closest].A, pairs[c.closest].B, pairs[c.closest].Kind, c.closestSim)
	}
	b.WriteString(evalEnd)
	return b.String()
}

// writeSection replaces README.md's evaluation section with section.
func writeSection(t *testing.T, path, section string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(data)
	start, end := strings.Index(s, evalBegin), strings.Index(s, evalEnd)
	require.True(t, start >= 0 && end > start, "README.md has no %q ... %q section to rewrite", evalBegin, evalEnd)
	s = s[:start] + section + s[end+len(evalEnd):]
	require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := proc.RepoRoot()
	require.NoError(t, err)
	return root
}
