package proc

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

const output = `{"level":"info","msg":"started","listen":"127.0.0.1:1"}
==================
WARNING: DATA RACE
Write at 0x00c000012345 by goroutine 7:
  main.main()
{"level":"info","msg":"request","status":200}
`

func TestLog_Tail(t *testing.T) {
	tests := map[string]struct {
		n    int
		want string
	}{
		"the last lines, without the final newline": {n: 2, want: "  main.main()\n" + `{"level":"info","msg":"request","status":200}`},
		"all of a shorter output":                   {n: 100, want: output[:len(output)-1]},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := &Log{}
			_, _ = l.Write([]byte(output))
			assert.Equal(t, tc.want, l.Tail(tc.n))
		})
	}
}

func TestLog_Around(t *testing.T) {
	tests := map[string]struct {
		s    string
		n    int
		want string
	}{
		"n lines from the first occurrence": {s: RaceReport, n: 2, want: RaceReport + "\nWrite at 0x00c000012345 by goroutine 7:"},
		"from inside a line":                {s: "goroutine 7", n: 1, want: "goroutine 7:"},
		"what is left of a short output":    {s: "main.main", n: 10, want: "main.main()\n" + `{"level":"info","msg":"request","status":200}` + "\n"},
		"nothing when it is not there":      {s: "panic:", n: 10, want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := &Log{}
			_, _ = l.Write([]byte(output))
			assert.Equal(t, tc.want, l.Around(tc.s, tc.n))
		})
	}
}

func TestLog_JSONLinesSkipsOtherOutput(t *testing.T) {
	l := &Log{}
	_, _ = l.Write([]byte(output + "null\n[1]\n{\"msg\":\"partial"))
	lines := l.JSONLines()
	if assert.Len(t, lines, 2) {
		assert.Equal(t, "started", lines[0]["msg"])
		assert.Equal(t, 200.0, lines[1]["status"])
	}
	assert.Empty(t, (&Log{}).JSONLines())
}

func TestLog_IsSafeForConcurrentWriters(t *testing.T) {
	l := &Log{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 100 {
				_, _ = fmt.Fprintf(l, "writer %d line %d\n", w, i)
				_ = l.Tail(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 400, strings.Count(l.String(), "\n"), "no write was lost")
}
