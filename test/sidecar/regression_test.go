package sidecare2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/sidecar/watch"
)

// Regression: the sidecar used to end a stream's report only at the upstream body's EOF. An
// app using openai-go stops reading at data: [DONE] and closes the stream
// (the usual `defer stream.Close()`); when that close reaches the sidecar
// before the provider's end of body does, the sidecar reports a stream the
// app received in full as "client_gone" and logs it at warn level with
// error_type=client_gone. On loopback with the mock provider this happened
// to 2 of 16 ordinary streams; a provider whose terminating chunk trails
// [DONE] by a moment makes it certain, which is what this test does. A stream whose terminating event ([DONE],
// message_stop, response.completed) reached the app is complete.
func TestRegression_AStreamTheAppReadToItsTerminatingEventIsCompleteNotClientGone(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[%s]%s}`
		for _, ev := range []string{
			fmt.Sprintf(chunk, `{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}`, ""),
			fmt.Sprintf(chunk, `{"index":0,"delta":{"content":"Hello."},"finish_reason":null}`, ""),
			fmt.Sprintf(chunk, `{"index":0,"delta":{},"finish_reason":"stop"}`, ""),
			fmt.Sprintf(chunk, "", `,"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}`),
			"[DONE]",
		} {
			fmt.Fprintf(w, "data: %s\n\n", ev)
			w.(http.Flusher).Flush()
		}
		// The end of the body trails [DONE], as it may over a network.
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}))
	t.Cleanup(upstream.Close)
	sc := startWithPolicy(t, `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: e2e, namespace: team-a}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: `+upstream.URL+`}
`)

	res := chatStream(t, sc.openAI(), chatParams("gpt-4o-mini"), requestID("done-1"))
	require.NoError(t, res.err)
	require.Len(t, res.acc.Choices, 1)
	assert.Equal(t, "Hello.", res.acc.Choices[0].Message.Content, "the app got the whole answer")

	line := sc.requestLog("done-1")
	assert.EqualValues(t, 2, line["output_tokens"], "usage is read either way")
	assert.Equal(t, "complete", line["end"], "the app read the stream to [DONE]")
	assert.Nil(t, line["error_type"])
	assert.Equal(t, "info", line["level"])
}

// Regression: the sidecar watches the policy file's directory and re-reads the file on
// any event there. A good file that did not change is skipped by its hash,
// but a refused file is parsed, logged at error level and counted again on
// every event, since only a good file's hash was remembered. Any writer in
// that directory therefore repeats the refusal; and when the sidecar's own
// log goes to a file beside the policy (`tollgate-sidecar --policy
// policy.yaml 2> sidecar.log`), each refusal line is an event that causes
// the next: one bad edit produced 10 refusals a second, without end. An
// unchanged bad file should be refused, logged and counted once.
func TestRegression_AnUnchangedBadPolicyFileIsRefusedOnceNotOnEveryEventInItsDirectory(t *testing.T) {
	mock := startMock(t)
	sc := startWithPolicy(t, withMock(fmt.Sprintf(allowListPolicy, "gpt-4o-mini"), mock))
	sc.writePolicy("{{{ not: yaml")
	require.Eventually(t, func() bool {
		errors, ok := sc.metricOK("tollgate_config_reload_total", "result", "error")
		return ok && errors == 1
	}, 5*time.Second, 20*time.Millisecond)

	// Another file in the directory changes a few times, each time after
	// the watcher's debounce.
	neighbour := filepath.Join(filepath.Dir(sc.policyFile), "notes.txt")
	for i := range 3 {
		writeAtomically(t, neighbour, fmt.Sprintf("edit %d\n", i))
		time.Sleep(3 * watchDebounce) // pacing, so that each write is its own event
	}
	// A good edit is the watcher's last event: once it applied, the earlier
	// ones have been handled.
	sc.writePolicy(withMock(fmt.Sprintf(allowListPolicy, "gpt-4o-mini, gpt-4o"), mock))
	require.Eventually(t, func() bool {
		success, ok := sc.metricOK("tollgate_config_reload_total", "result", "success")
		return ok && success == 2
	}, 5*time.Second, 20*time.Millisecond)

	assert.Equal(t, 1.0, sc.metric("tollgate_config_reload_total", "result", "error"), "the same bad file was counted again")
	assert.Equal(t, 1, strings.Count(sc.logs.String(), "policy file refused; keeping the last good policy"), "the same bad file was logged again")
}

// watchDebounce is internal/sidecar/watch.Debounce: how long the sidecar waits
// after a file event before it reloads.
const watchDebounce = watch.Debounce
