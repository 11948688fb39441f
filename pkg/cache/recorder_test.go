package cache

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecorder_KeepsWhatTheAppGotUpToTheLimit(t *testing.T) {
	tests := map[string]struct {
		limit          int
		writes         []string
		wantBytes      string
		wantOverflowed bool
	}{
		"nothing written":          {limit: 10, wantBytes: ""},
		"writes joined":            {limit: 10, writes: []string{"data: ", "a\n\n"}, wantBytes: "data: a\n\n"},
		"exactly the limit":        {limit: 4, writes: []string{"ab", "cd"}, wantBytes: "abcd"},
		"one byte over the limit":  {limit: 4, writes: []string{"ab", "cde"}, wantOverflowed: true},
		"writes after an overflow": {limit: 4, writes: []string{"abcdef", "g"}, wantOverflowed: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := NewRecorder(tc.limit)
			for _, w := range tc.writes {
				n, err := r.Write([]byte(w))
				require.NoError(t, err, "recording never fails the app's answer")
				assert.Equal(t, len(w), n)
			}
			assert.Equal(t, tc.wantOverflowed, r.Overflowed())
			if tc.wantOverflowed {
				assert.Nil(t, r.Bytes(), "an overflowed copy is dropped")
			} else {
				assert.Equal(t, tc.wantBytes, string(r.Bytes()))
			}
		})
	}
}

func TestRecorder_DefaultsToTheEntryLimit(t *testing.T) {
	r := NewRecorder(0)
	_, _ = r.Write(make([]byte, DefaultMaxEntryBytes))
	assert.False(t, r.Overflowed())
	_, _ = r.Write([]byte{1})
	assert.True(t, r.Overflowed())
}

func TestRecorder_FeedsAStoreThatReplaysTheStream(t *testing.T) {
	r := NewRecorder(0)
	for _, chunk := range []string{"data: {\"a\":1}\n", "\ndata: [DONE]", "\n\n"} {
		_, _ = r.Write([]byte(chunk))
	}
	s := New(10, time.Hour)
	require.NoError(t, s.Add("k", &Entry{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: r.Bytes(), Stream: true}))
	e, ok := s.Get("k")
	require.True(t, ok)
	assert.Equal(t, []string{"data: {\"a\":1}\n\n", "data: [DONE]\n\n"}, readAll(t, e.Response(nil).Body, 1024))
}
