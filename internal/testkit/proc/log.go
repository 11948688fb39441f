package proc

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
)

// Log keeps a process's output in memory, for a test to read while the
// process runs and to show when it fails. It is safe for concurrent use.
type Log struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

// Write appends p to the log.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String is the output so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Tail is the last n lines of the output.
func (l *Log) Tail(n int) string {
	return tail(l.String(), n)
}

// Around is n lines of the output from the first occurrence of s on, or ""
// when s is not in it.
func (l *Log) Around(s string, n int) string {
	return around(l.String(), s, n)
}

// JSONLines returns the lines of the output that are JSON objects, as a
// structured logger writes them; other output (a race report, a panic, a
// fatal error before the logger existed) is skipped.
func (l *Log) JSONLines() []map[string]any {
	var out []map[string]any
	for line := range strings.Lines(l.String()) {
		var obj map[string]any
		if json.Unmarshal([]byte(line), &obj) == nil && obj != nil {
			out = append(out, obj)
		}
	}
	return out
}

// tail is the last n lines of text.
func tail(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// around is n lines of text from the first occurrence of s on.
func around(text, s string, n int) string {
	i := strings.Index(text, s)
	if i < 0 {
		return ""
	}
	lines := strings.Split(text[i:], "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
