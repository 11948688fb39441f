package proxy

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/llmclient"
)

// holdBody starts a request whose 1000-byte body never arrives, so that it
// holds 1000 bytes of the buffer budget until release is called.
func holdBody(t *testing.T, h *harness) (release func()) {
	t.Helper()
	pr, pw := io.Pipe()
	req := httptest.NewRequest(http.MethodPost, "/openai/v1/chat/completions", pr)
	req.ContentLength = 1000
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := h.tr.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
	}()
	stop := func() {
		_ = pw.CloseWithError(errors.New("the test let go"))
		<-done
	}
	t.Cleanup(stop)
	return stop
}

// bodyOf is a chat request padded to n bytes.
func bodyOf(n int) string {
	return strings.Replace(chat, `"hi"`, `"`+strings.Repeat("x", n-len(chat)+2)+`"`, 1)
}

func TestBuffers_ABodyWithNoRoomWaitsAndIsServedOnceRoomFrees(t *testing.T) {
	buffers := llmclient.NewBufferBudget(1500)
	h := newHarnessWith(t, "", llmclient.Options{MaxRequestBytes: 1000, Buffers: buffers})
	release := holdBody(t, h)
	require.Eventually(t, func() bool { return buffers.InUse() == 1000 }, time.Second, time.Millisecond)

	type answer struct {
		resp *http.Response
		err  error
	}
	answered := make(chan answer)
	go func() {
		resp, err := http.Post(h.url+"/openai/v1/chat/completions", "application/json", strings.NewReader(bodyOf(800)))
		answered <- answer{resp, err}
	}()
	select {
	case <-answered:
		t.Fatal("an 800-byte body was served beside 1000 bytes held, in a budget of 1500")
	case <-time.After(200 * time.Millisecond):
	}
	assert.Zero(t, h.mock.Received())

	release()
	got := <-answered
	require.NoError(t, got.err)
	defer got.resp.Body.Close()
	assert.Equal(t, http.StatusOK, got.resp.StatusCode, readAll(t, got.resp))
	require.Eventually(t, func() bool { return buffers.InUse() == 0 }, time.Second, time.Millisecond, "every byte is given back")
}

func TestBuffers_ABodyThatFindsNoRoomWithinTheTotalTimeoutIsRefused(t *testing.T) {
	buffers := llmclient.NewBufferBudget(1500)
	h := newHarnessWith(t, "  timeouts: {connect: 1s, firstToken: 1s, total: 1s}\n", llmclient.Options{MaxRequestBytes: 1000, Buffers: buffers})
	holdBody(t, h)
	require.Eventually(t, func() bool { return buffers.InUse() == 1000 }, time.Second, time.Millisecond)

	resp := h.post("/openai/v1/chat/completions", bodyOf(800))
	body := readAll(t, resp)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
	assert.Equal(t, llmclient.CodeOverloaded, errorCode(t, body))
	assert.Contains(t, body, "found no room within the total timeout of 1s")
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.Equal(t, "0", resp.Header.Get(llmclient.HeaderAttempts))
	assert.Zero(t, h.mock.Received())
}

func TestBuffers_UsageIsReadEvenWhenBodiesLeaveNoRoomForACopyOfTheAnswer(t *testing.T) {
	// The body leaves 100 bytes of the budget, less than the answer: usage
	// must not depend on a copy of it.
	buffers := llmclient.NewBufferBudget(1000)
	h := newHarnessWith(t, "", llmclient.Options{MaxRequestBytes: 1000, Buffers: buffers})
	resp := h.post("/openai/v1/chat/completions", bodyOf(900))
	answer := readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode, answer)
	require.Greater(t, len(answer), 100)
	r := h.lastReport()
	assert.True(t, r.Usage.Known, fmtReport(r))
	assert.EqualValues(t, 7, r.Usage.OutputTokens)
	require.Eventually(t, func() bool { return buffers.InUse() == 0 }, time.Second, time.Millisecond, "every byte is given back")
}
