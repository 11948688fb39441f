package mockprovider

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSplitDeltas(t *testing.T) {
	tests := map[string]struct {
		content string
		chunks  int
		want    []string
	}{
		"one word per delta, each with its leading space": {
			content: "Hello from the mock provider.", want: []string{"Hello", " from", " the", " mock", " provider."},
		},
		"runs of whitespace stay with the word after them": {
			content: "a  b\nc", want: []string{"a", "  b", "\nc"},
		},
		"fewer chunks group consecutive words": {
			content: "a b c d e", chunks: 2, want: []string{"a b", " c d e"},
		},
		"one chunk is the whole content": {
			content: "a b c", chunks: 1, want: []string{"a b c"},
		},
		"more chunks repeat the content with a space between repetitions": {
			content: "a b", chunks: 5, want: []string{"a", " b", " a", " b", " a"},
		},
		"a single word repeats": {
			content: "tok", chunks: 3, want: []string{"tok", " tok", " tok"},
		},
		"chunks equal to the word count change nothing": {
			content: "a b", chunks: 2, want: []string{"a", " b"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := splitDeltas(tc.content, tc.chunks)
			assert.Equal(t, tc.want, got)
			if tc.chunks > 0 && tc.chunks <= len(splitWords(tc.content)) {
				assert.Equal(t, tc.content, strings.Join(got, ""), "grouping loses nothing")
			}
		})
	}
}

func TestPadContent_MakesTheReplyExactlyThatLong(t *testing.T) {
	tests := map[string]struct {
		content string
		n       int
		want    string
	}{
		"shorter than the content: cut":               {content: "Hello there", n: 2, want: "He"},
		"longer: repeated with a space between":       {content: "ab", n: 7, want: "ab ab a"},
		"a character cut in two is filled with space": {content: "né", n: 2, want: "n "},
		"exactly the content":                         {content: "abc", n: 3, want: "abc"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, padContent(tc.content, tc.n))
		})
	}
	assert.Len(t, padContent(DefaultContent, 64<<10), 64<<10)
}

func TestQueue_ModelQueueFirstThenSharedThenDefault(t *testing.T) {
	var q queue
	q.def.Store(compile(Step{Status: 299}))
	q.push("", []Step{{Status: 201}, {Status: 202}})
	q.push("gpt", []Step{{Status: 501}})

	type popped struct {
		status int
		source StepSource
	}
	var got []popped
	for _, model := range []string{"other", "gpt", "gpt", "gpt", "other"} {
		sc, src := q.next(model)
		got = append(got, popped{sc.Status, src})
	}
	assert.Equal(t, []popped{
		{201, SourceQueue},
		{501, SourceModelQueue},
		{202, SourceQueue},
		{299, SourceDefault},
		{299, SourceDefault},
	}, got)
	assert.Zero(t, q.pending.Load())
}

func TestTruncateEvent_LeavesInvalidJSONInAnSSEEvent(t *testing.T) {
	got := string(truncateEvent([]byte("event: x\ndata: {\"a\":\"bcdef\"}\n\n")))
	assert.Equal(t, "event: x\ndata: {\"a\":\"\n\n", got)
}
