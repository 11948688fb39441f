package proc

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSink_PrefixesWholeLinesOfEachWriter(t *testing.T) {
	var out strings.Builder
	sink := NewSink(&out)
	a, b := sink.Prefixed("operator"), sink.Prefixed("sidecar")

	_, _ = a.Write([]byte("half a "))
	_, _ = b.Write([]byte("one\ntwo\n"))
	_, _ = a.Write([]byte("line\nno end yet"))

	assert.Equal(t, "sidecar | one\nsidecar | two\noperator | half a line\n", out.String())
}

func TestSink_KeepsLinesWholeUnderConcurrentWrites(t *testing.T) {
	var out strings.Builder
	sink := NewSink(&out)
	w := sink.Prefixed("p")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				_, _ = w.Write([]byte("abc\n"))
			}
		})
	}
	wg.Wait()
	assert.Equal(t, strings.Repeat("p | abc\n", 400), out.String())
}
