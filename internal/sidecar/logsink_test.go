package sidecar

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// lockedBuffer is a log output written by the flush goroutine and read by
// the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var lines []string
	for line := range strings.Lines(b.buf.String()) {
		lines = append(lines, line)
	}
	return lines
}

func TestLoggers_RequestLinesWaitOtherLinesFlushThemInOrderAndStopWritesTheRest(t *testing.T) {
	var out lockedBuffer
	// An hour: no line here is written by the timer.
	logs := newLoggers(&out, zap.InfoLevel, time.Hour)
	logs.requests.Info("request", zap.Int("n", 1))
	logs.requests.Warn("request", zap.Int("n", 2))
	assert.Empty(t, out.lines(), "request lines wait in the buffer")

	logs.log.Info("policy loaded")
	got := out.lines()
	require.Len(t, got, 3, "another line is written at once, after the request lines before it")
	assert.Contains(t, got[0], `"n":1`)
	assert.Contains(t, got[1], `"n":2`)
	assert.Contains(t, got[2], `"msg":"policy loaded"`)
	assert.Contains(t, got[2], `"logger":"sidecar"`)

	logs.requests.Info("request", zap.Int("n", 3))
	logs.stop()
	got = out.lines()
	require.Len(t, got, 4, "stop writes what the buffer holds")
	assert.Contains(t, got[3], `"n":3`)
}

func TestLoggers_TheTimerWritesRequestLines(t *testing.T) {
	var out lockedBuffer
	logs := newLoggers(&out, zap.InfoLevel, 10*time.Millisecond)
	defer logs.stop()
	logs.requests.Info("request")
	assert.Eventually(t, func() bool { return len(out.lines()) == 1 }, 5*time.Second, 5*time.Millisecond)
}

func TestLoggers_ZeroWritesEveryLineAtOnce(t *testing.T) {
	var out lockedBuffer
	logs := newLoggers(&out, zap.InfoLevel, 0)
	defer logs.stop()
	logs.requests.Info("request")
	assert.Len(t, out.lines(), 1)
}
