package inprocess

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

const (
	chat   = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in one sentence."}]}`
	stream = `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say hello in one sentence."}]}`
)

func startStack(tb testing.TB) *Stack { return startStackWith(tb, Options{}) }

// startStackWith starts the stack with o, the sidecar logging to a file
// in a temporary directory; it is stopped when tb ends.
func startStackWith(tb testing.TB, o Options) *Stack {
	tb.Helper()
	dir := tb.TempDir()
	log, err := os.Create(filepath.Join(dir, "sidecar.log"))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = log.Close() })
	s, err := StartWith(dir, log, o)
	require.NoError(tb, err)
	tb.Cleanup(s.Close)
	return s
}

// sendInParallel sends body(i), i counting from 1, to url from parallel
// clients for b.N requests, counting allocations; the answers are read
// into io.Discard (see send).
func sendInParallel(b *testing.B, url string, body func(i int64) string) {
	c := Client(64)
	b.Cleanup(c.CloseIdleConnections)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			send(b, c, url, body(n.Add(1)))
		}
	})
}

// same is a body function that always gives body.
func same(body string) func(int64) string { return func(int64) string { return body } }

func post(tb testing.TB, c *http.Client, url, body string) string {
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		tb.Error(err)
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Errorf("%s: status %d, err %v: %s", url, resp.StatusCode, err, b)
	}
	return string(b)
}

func TestStack_EveryTargetAnswersChatsAndStreams(t *testing.T) {
	s := startStack(t)
	s.Mock.SetDefault(mockprovider.Step{Chunks: 5})
	c := Client(4)
	for _, target := range s.Targets() {
		t.Run(target.Name, func(t *testing.T) {
			assert.Contains(t, post(t, c, target.URL, chat), `"chat.completion"`)
			s.Mock.SetDefault(mockprovider.Step{Chunks: 5, ContentBytes: 64 << 10})
			assert.Greater(t, len(post(t, c, target.URL, chat)), 64<<10, "a padded answer")
			s.Mock.SetDefault(mockprovider.Step{Chunks: 5})
			body := post(t, c, target.URL, stream)
			assert.Contains(t, body, `"usage":{`, "the usage chunk the app asked for")
			assert.True(t, strings.HasSuffix(body, "data: [DONE]\n\n"), "the stream ends with [DONE]: %q", body)
		})
	}
}

// send posts body to url and reads the answer into io.Discard, which
// costs the client no allocation whatever the answer's size, so that the
// allocations counted are the proxies' and the mock's.
func send(tb testing.TB, c *http.Client, url, body string) {
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		tb.Error(err)
		return
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || n == 0 {
		tb.Errorf("%s: status %d, %d bytes, err %v", url, resp.StatusCode, n, err)
	}
}

func benchmarkTargets(b *testing.B, step mockprovider.Step, body string) {
	s := startStack(b)
	s.Mock.SetDefault(step)
	for _, target := range s.Targets() {
		b.Run(target.Name, func(b *testing.B) { sendInParallel(b, target.URL, same(body)) })
	}
}

// answerSizes are the sizes of the reply text the chat benchmarks
// measure: two bytes, and kilobytes as real answers are. The ratio of the
// sidecar's cost to the ReverseProxy's must not grow with the size.
var answerSizes = []struct {
	name  string
	bytes int
}{{"2B", 2}, {"8KiB", 8 << 10}, {"64KiB", 64 << 10}}

// BenchmarkChat is one chat completion per operation, for each answer
// size: BenchmarkChat/answer=8KiB/sidecar.
func BenchmarkChat(b *testing.B) {
	for _, size := range answerSizes {
		b.Run("answer="+size.name, func(b *testing.B) {
			benchmarkTargets(b, mockprovider.Step{ContentBytes: size.bytes}, chat)
		})
	}
}

// BenchmarkStream20Chunks is one 20-delta stream per operation, sent as
// fast as the mock can: the cost per stream event.
func BenchmarkStream20Chunks(b *testing.B) {
	benchmarkTargets(b, mockprovider.Step{Chunks: 20}, stream)
}

// BenchmarkStream20ChunksPaced paces the events 1ms apart, so that each
// event is read, observed, written and flushed on its own, as in a real
// stream where tokens trickle in.
func BenchmarkStream20ChunksPaced(b *testing.B) {
	benchmarkTargets(b, mockprovider.Step{Chunks: 20, ChunkDelay: time.Millisecond}, stream)
}

// The parts of a realistic policy the benchmark's own leaves out: a
// budget, enforced by this sidecar alone or on allowances from a ledger,
// and the response cache.
const (
	budgetSpec = "  budget: {period: Monthly, limit: \"1000000\"}\n"
	cacheSpec  = "  cache: {ttl: 5m, maxEntries: 1000}\n"
)

// chatN is a deterministic chat completion (temperature 0, which the cache
// keys) whose prompt is the n-th: a new one is a cache miss.
func chatN(n int64) string {
	return fmt.Sprintf(`{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"Say hello in one sentence, %d."}]}`, n)
}

// BenchmarkPolicies is one chat completion (a 2 B answer) per operation
// through the sidecar enforcing each realistic part, and all of them:
// BenchmarkPolicies/ledger. cache-hit asks the same each time (all but
// the first are hits); cache-miss and all a new prompt each time (each is
// keyed, sent, and its answer stored).
func BenchmarkPolicies(b *testing.B) {
	same := func(int64) string { return chatN(0) }
	for _, tc := range []struct {
		name string
		o    Options
		body func(n int64) string
	}{
		{"none", Options{}, same},
		{"budget", Options{Spec: budgetSpec}, same},
		{"ledger", Options{Spec: budgetSpec, Ledger: true}, same},
		{"cache-hit", Options{Spec: cacheSpec}, same},
		{"cache-miss", Options{Spec: cacheSpec}, chatN},
		{"all", Options{Spec: budgetSpec + cacheSpec, Ledger: true}, chatN},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := startStackWith(b, tc.o)
			s.Mock.SetDefault(mockprovider.Step{ContentBytes: 2})
			sendInParallel(b, s.Sidecar, tc.body)
		})
	}
}

func TestStackWith_TheLedgerGrantsTheAllowanceRequestsAreAdmittedOn(t *testing.T) {
	s := startStackWith(t, Options{Spec: budgetSpec, Ledger: true})
	c := Client(4)
	// A sidecar holds no allowance before its first sync: without the
	// ledger's answer, the first request would be refused
	// (tollgate_budget_unavailable), not answered.
	for i := range 3 {
		assert.Contains(t, post(t, c, s.Sidecar, chatN(int64(i))), `"chat.completion"`)
	}
}
