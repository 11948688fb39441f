package plainproxy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNew_ForwardsWithoutThePrefix(t *testing.T) {
	var gotPath, gotQuery, gotBody string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotPath, gotQuery, gotBody = r.URL.Path, r.URL.RawQuery, string(b)
		_, _ = io.WriteString(w, "answer")
	}))
	t.Cleanup(upstream.Close)
	target, err := url.Parse(upstream.URL)
	require.NoError(t, err)
	proxy := httptest.NewServer(New(target, "/openai"))
	t.Cleanup(proxy.Close)

	resp, err := http.Post(proxy.URL+"/openai/v1/chat/completions?x=1", "application/json", strings.NewReader(`{"model":"m"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "answer", string(body))
	assert.Equal(t, "/v1/chat/completions", gotPath)
	assert.Equal(t, "x=1", gotQuery)
	assert.Equal(t, `{"model":"m"}`, gotBody)
}

func TestNew_PassesEachSSEEventOnAtOnce(t *testing.T) {
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release // the second event waits until the client saw the first
		_, _ = io.WriteString(w, "data: second\n\n")
	}))
	t.Cleanup(upstream.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	target, err := url.Parse(upstream.URL)
	require.NoError(t, err)
	proxy := httptest.NewServer(New(target, "/openai"))
	t.Cleanup(proxy.Close)

	resp, err := http.Post(proxy.URL+"/openai/v1/chat/completions", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err, "the first event arrives while the upstream still holds the second")
	assert.Equal(t, "data: first\n", line)
	close(release)
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	assert.Equal(t, "\ndata: second\n\n", string(rest))
}

func TestMain_RefusesAnUpstreamThatIsNotAnAbsoluteURL(t *testing.T) {
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := Main(ctx, []string{"--upstream", "127.0.0.1:8089"}, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--upstream")
	assert.Contains(t, err.Error(), "http://127.0.0.1:8089")
	assert.Empty(t, stdout.String())
}

func TestMain_PrintsItsURLAndStopsWithTheContext(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Main(ctx, []string{"--upstream", "http://127.0.0.1:1"}, pw, io.Discard) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(line, "http://127.0.0.1:"), "printed %q", line)
	cancel()
	require.NoError(t, <-done)
}
