package sidecare2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

func TestShutdown_SIGTERMLetsAnInFlightStreamFinishThenExitsZero(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, "")
	mock.Enqueue(mockprovider.Step{ChunkDelay: 50 * time.Millisecond, Chunks: 10})
	client := sc.openAI()
	stream := client.Chat.Completions.NewStreaming(context.Background(), chatParams("gpt-4o-mini"))
	defer stream.Close()
	require.True(t, stream.Next(), "the stream started: %v", stream.Err())
	var acc openai.ChatCompletionAccumulator
	acc.AddChunk(stream.Current())

	sc.sigterm()
	require.Eventually(t, func() bool {
		for _, l := range sc.logs.JSONLines() {
			if l["msg"] == "shutting down; letting in-flight requests finish" {
				return true
			}
		}
		return false
	}, 5*time.Second, 5*time.Millisecond, "SIGTERM was not acted on")
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	require.NoError(t, stream.Err(), "the in-flight stream was cut by the shutdown")
	require.Len(t, acc.Choices, 1)
	assert.Equal(t, "stop", acc.Choices[0].FinishReason)

	select {
	case <-sc.process.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("the sidecar did not exit after its last stream ended")
	}
	assert.Equal(t, 0, sc.process.State().ExitCode())
}

func TestStart_ABadPolicyFileIsRefusedWithExitCode1AndTheReason(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeAtomically(t, path, policyHead+"  retry: {maxAttempts: 0.5}\n")
	sc := launch(t, path)
	sc.mayExit = true
	select {
	case <-sc.process.Exited():
	case <-time.After(startWait):
		t.Fatal("the sidecar started on a bad policy file")
	}
	assert.Equal(t, 1, sc.process.State().ExitCode())
	assert.Contains(t, sc.logs.String(), "tollgate-sidecar: cannot start: "+path)
}

// TestShutdown_SIGTERMWritesTheLogLineOfEveryRequest: request lines wait
// in a buffer (an hour here, so no timer writes them), and SIGTERM writes
// every one, a stream's that ended during the shutdown included.
func TestShutdown_SIGTERMWritesTheLogLineOfEveryRequest(t *testing.T) {
	mock := startMock(t)
	sc := startWithSpec(t, mock, "", "--log-flush-interval", "1h")
	client := sc.openAI()
	const n = 20
	for i := range n {
		_, err := client.Chat.Completions.New(context.Background(), chatParams("gpt-4o-mini"))
		require.NoError(t, err, "request %d", i)
	}
	mock.Enqueue(mockprovider.Step{ChunkDelay: 50 * time.Millisecond, Chunks: 10})
	stream := client.Chat.Completions.NewStreaming(context.Background(), chatParams("gpt-4o-mini"))
	defer stream.Close()
	require.True(t, stream.Next(), "the stream started: %v", stream.Err())
	assert.Zero(t, countRequestLines(sc), "request lines wait in the buffer")

	sc.sigterm()
	for stream.Next() {
	}
	require.NoError(t, stream.Err())
	select {
	case <-sc.process.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("the sidecar did not exit after SIGTERM")
	}
	assert.Equal(t, 0, sc.process.State().ExitCode())
	assert.Equal(t, n+1, countRequestLines(sc), "one line per request, the stream's too")
}

func countRequestLines(sc *sidecar) int {
	count := 0
	for _, l := range sc.logs.JSONLines() {
		if l["msg"] == "request" {
			count++
		}
	}
	return count
}
