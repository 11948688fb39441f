package mockprovider

import (
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// DefaultContent is the reply text when a step sets no Content.
const DefaultContent = "Hello from the mock provider."

// Default token usage of an answer when a step sets no Usage.
const (
	DefaultInputTokens  = 12
	DefaultOutputTokens = 7
)

// Step scripts the answer to one request. The zero Step is a 200 with a
// normal answer in the shape the request's path calls for.
type Step struct {
	// Status is the HTTP status. 0 means 200. 400 and above answer with an
	// error body in the provider's shape; below 400 with a normal answer.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header (seconds or
	// an HTTP date), whatever the status.
	RetryAfter string
	// Headers are added to the response last, so they override the mock's
	// own (Content-Type included).
	Headers map[string]string
	// Body, when set, is sent verbatim instead of the generated answer or
	// error, with any status.
	Body string
	// ErrorCode is the provider's error code in an error body: OpenAI's
	// error.code (e.g. "insufficient_quota", which also sets error.type,
	// as the real API does), Anthropic's error.type, Gemini's error.status.
	// Empty means the code the provider uses for Status.
	ErrorCode string
	// FirstByteDelay is how long to wait before sending headers. The wait
	// ends early when the client goes away.
	FirstByteDelay time.Duration
	// ChunkDelay is how long to wait between two events of a stream.
	ChunkDelay time.Duration
	// Fault is the failure to inject; FaultNone for none.
	Fault Fault
	// AfterEvents is how many stream events are sent before
	// FaultResetMidStream, FaultCutStream or FaultMalformedJSON strikes.
	// Answers that are not streamed are cut halfway through their body.
	AfterEvents int
	// Content is the reply text; empty means DefaultContent. Streams send
	// it one word per delta.
	Content string
	// ContentBytes, when positive, makes the reply text exactly this many
	// bytes long: Content (or DefaultContent) repeated, a space between
	// repetitions, and cut. Benchmarks use it to measure what the size of
	// an answer costs: real answers are kilobytes.
	ContentBytes int
	// Usage is the token usage reported; nil means DefaultInputTokens and
	// DefaultOutputTokens.
	Usage *Usage
	// Chunks, when positive, forces the number of content deltas of a
	// stream: fewer groups several words per delta, more repeats the
	// content, which makes long streams for benchmarks.
	Chunks int
}

// Usage is the token usage an answer reports. Its meaning matches the
// sidecar's: InputTokens counts every input token, cached ones included,
// and each provider's fields are derived from it (Anthropic's input_tokens
// is InputTokens minus CachedInputTokens, since Anthropic reports cache
// reads separately).
type Usage struct {
	// InputTokens is every input token, cached ones included.
	InputTokens int64 `json:"input_tokens"`
	// OutputTokens is every output token.
	OutputTokens int64 `json:"output_tokens"`
	// CachedInputTokens is the part of InputTokens read from the prompt
	// cache.
	CachedInputTokens int64 `json:"cached_input_tokens,omitempty"`
}

// Fault is a failure a Step injects into its answer.
type Fault string

// Faults. The string values are what the HTTP control API takes.
const (
	// FaultNone answers normally.
	FaultNone Fault = ""
	// FaultResetBeforeHeaders closes the connection with a TCP reset
	// before any response byte, as a crashed upstream or proxy does.
	FaultResetBeforeHeaders Fault = "reset_before_headers"
	// FaultResetMidStream sends AfterEvents events, then resets the
	// connection.
	FaultResetMidStream Fault = "reset_mid_stream"
	// FaultCutStream sends AfterEvents events, then ends the body cleanly
	// without the stream's terminating events ([DONE], message_stop, ...).
	// A body that is not streamed is cut short of its Content-Length.
	FaultCutStream Fault = "cut_stream"
	// FaultMalformedJSON answers 200 with invalid JSON: a truncated body,
	// or, after AfterEvents events, one event whose data is truncated JSON,
	// which ends the stream.
	FaultMalformedJSON Fault = "malformed_json"
	// FaultHang never answers; the request ends when the client goes away
	// or the server closes.
	FaultHang Fault = "hang"
)

// known reports whether f is one of the faults above, so typos in scripts
// sent over HTTP are refused instead of silently answering normally.
func (f Fault) known() bool {
	switch f {
	case FaultNone, FaultResetBeforeHeaders, FaultResetMidStream, FaultCutStream, FaultMalformedJSON, FaultHang:
		return true
	}
	return false
}

// StepSource says where the step that answered a request came from.
type StepSource string

// Step sources.
const (
	// SourceNone: no step answered (unknown path, malformed request).
	SourceNone StepSource = ""
	// SourceModelQueue: the queue of the request's model (EnqueueFor).
	SourceModelQueue StepSource = "model"
	// SourceQueue: the queue shared by all requests (Enqueue).
	SourceQueue StepSource = "queue"
	// SourceDefault: nothing was queued; the default step answered.
	SourceDefault StepSource = "default"
)

// script is a Step with what every answer needs computed once, when the
// step is queued, instead of on every request.
type script struct {
	Step
	deltas []string // content deltas of a stream, in order
	text   string   // the whole reply: the deltas joined
	usage  Usage    // Step.Usage or the defaults
	body   []byte   // Step.Body
}

// plain answers what the mock refuses itself: no delay, no fault.
var plain = compile(Step{})

func compile(st Step) *script {
	// Copy what the caller may still change: a step is read by requests
	// and records long after it was queued.
	st.Headers = maps.Clone(st.Headers)
	sc := &script{Step: st, usage: Usage{InputTokens: DefaultInputTokens, OutputTokens: DefaultOutputTokens}}
	if st.Usage != nil {
		sc.usage = *st.Usage
		sc.Step.Usage = &sc.usage
	}
	content := st.Content
	if content == "" {
		content = DefaultContent
	}
	if st.ContentBytes > 0 {
		content = padContent(content, st.ContentBytes)
	}
	sc.deltas = splitDeltas(content, st.Chunks)
	sc.text = strings.Join(sc.deltas, "")
	if st.Body != "" {
		sc.body = []byte(st.Body)
	}
	return sc
}

// padContent repeats content, a space between repetitions, to exactly n
// bytes, cut at a character boundary and filled up with spaces.
func padContent(content string, n int) string {
	var b strings.Builder
	b.Grow(n + len(content) + 1)
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(content)
	}
	s := b.String()[:n]
	for len(s) > 0 {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size > 1 {
			break
		}
		s = s[:len(s)-1] // a character cut in two
	}
	return s + strings.Repeat(" ", n-len(s))
}

// splitDeltas cuts content into stream deltas: one word each (with its
// leading space, as models stream), or exactly chunks deltas when chunks is
// positive.
func splitDeltas(content string, chunks int) []string {
	words := splitWords(content)
	n := len(words)
	switch {
	case n == 0 || chunks <= 0 || chunks == n:
		return words
	case chunks < n:
		// Group consecutive words; they are contiguous in content, so each
		// group is a substring and costs no allocation.
		out := make([]string, chunks)
		start := 0
		for i := range chunks {
			endWord := (i + 1) * n / chunks
			end := len(content)
			if endWord < n {
				end = wordStart(content, words, endWord)
			}
			out[i] = content[start:end]
			start = end
		}
		return out
	default:
		// Repeat the content, a space between repetitions.
		again := " " + strings.TrimLeft(words[0], " \t\n")
		out := make([]string, chunks)
		for i := range chunks {
			out[i] = words[i%n]
			if i >= n && i%n == 0 {
				out[i] = again
			}
		}
		return out
	}
}

// splitWords cuts s before each run of whitespace that follows a word.
func splitWords(s string) []string {
	var words []string
	start := 0
	for i := 1; i < len(s); i++ {
		if isSpace(s[i]) && !isSpace(s[i-1]) {
			words = append(words, s[start:i])
			start = i
		}
	}
	if start < len(s) {
		words = append(words, s[start:])
	}
	return words
}

// wordStart is the offset in content of words[k].
func wordStart(content string, words []string, k int) int {
	off := 0
	for _, w := range words[:k] {
		off += len(w)
	}
	return off
}

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\t' || b == '\r' }

// queue holds the scripted steps. The hot path takes mu only to pop a step;
// with nothing queued it reads pending and the default atomically.
type queue struct {
	pending atomic.Int64           // steps in shared + byModel
	def     atomic.Pointer[script] // answers when nothing is queued

	mu      sync.Mutex // guards shared and byModel
	shared  []*script
	byModel map[string][]*script
}

func (q *queue) push(model string, steps []Step) {
	compiled := make([]*script, len(steps))
	for i, st := range steps {
		compiled[i] = compile(st)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if model == "" {
		q.shared = append(q.shared, compiled...)
	} else {
		if q.byModel == nil {
			q.byModel = make(map[string][]*script)
		}
		q.byModel[model] = append(q.byModel[model], compiled...)
	}
	q.pending.Add(int64(len(compiled)))
}

// next pops the step answering a request for model: the model's queue
// first, then the shared one, else the default.
func (q *queue) next(model string) (*script, StepSource) {
	if q.pending.Load() == 0 {
		return q.def.Load(), SourceDefault
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if steps := q.byModel[model]; len(steps) > 0 {
		sc := steps[0]
		steps[0] = nil // let the popped step be collected
		if len(steps) == 1 {
			delete(q.byModel, model)
		} else {
			q.byModel[model] = steps[1:]
		}
		q.pending.Add(-1)
		return sc, SourceModelQueue
	}
	if len(q.shared) > 0 {
		sc := q.shared[0]
		q.shared[0] = nil // let the popped step be collected
		q.shared = q.shared[1:]
		if len(q.shared) == 0 {
			q.shared = nil
		}
		q.pending.Add(-1)
		return sc, SourceQueue
	}
	return q.def.Load(), SourceDefault
}

func (q *queue) clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shared, q.byModel = nil, nil
	q.pending.Store(0)
}
